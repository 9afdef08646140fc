// One Key Vault secret. main.bicep calls this module only when a value is given, so a later
// deployment without the value leaves a secret set with `az keyvault secret set` untouched.

@description('Name of an existing Key Vault in this resource group.')
param keyVaultName string

@description('Name of the secret.')
param secretName string

@secure()
@description('Value of the secret.')
param secretValue string

@description('Content type recorded with the secret (what the value is, not the value).')
param contentType string

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: an expiry date would stop the nightly backup the day it passes (the app's Key Vault reference stops resolving); each secret lives as long as its Connxio credential or webhook, and is rotated as the README describes.
  parent: keyVault
  name: secretName
  properties: {
    value: secretValue
    contentType: contentType
  }
}

@description('URI of the secret without a version (always the latest).')
output secretUri string = secret.properties.secretUri
