// cxbackup — everything the Function App needs in one resource group.
//
//   Function App (Flex Consumption FC1, Python 3.11, system-assigned identity)
//     ├─ host storage account   AzureWebJobsStorage (identity) + the deployment package container
//     ├─ backup storage account the snapshots: soft delete, versioning, optional version-level WORM
//     ├─ Key Vault              Connxio client secret + API keys, read through Key Vault references
//     └─ Application Insights   on a Log Analytics workspace, Entra ID (no instrumentation key) auth
//
// The app holds no storage key and no connection string: it reaches every store with its managed
// identity, and each role assignment is scoped as narrowly as the resource allows.
//
// Deploy with `azd up` (main.parameters.json maps the azd environment onto these parameters), or
// with `az deployment group create -g <rg> -f infra/main.bicep -p environmentName=<name> ...`.
// Checked by tests/infra/test_checkov.py; every `checkov:skip` below says why.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the environment (the azd environment name); seeds the unique resource names and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Object id of the user or service principal running the deployment (azd fills AZURE_PRINCIPAL_ID). It gets Key Vault Secrets Officer on the vault (to set the secrets) and Storage Blob Data Reader on the backup container (to look at snapshots). Empty: no assignments.')
param principalId string = ''

// Connxio ---------------------------------------------------------------------------------------

@description('Connxio API base URL (CONNXIO_BASE_URL).')
param connxioBaseUrl string = 'https://api.connxio.com'

@description('Connxio OAuth token endpoint (CONNXIO_TOKEN_URL).')
param connxioTokenUrl string = 'https://api.connxio.com/oauth/token'

@description('OAuth client id of the Connxio API client (CONNXIO_CLIENT_ID). Not a secret.')
param connxioClientId string

@description('OAuth scope requested with the client credentials (CONNXIO_SCOPE).')
param connxioScope string = 'api://connxio/.default'

@secure()
@description('Connxio OAuth client secret. Empty: the Key Vault secret connxio-client-secret is left alone (set it later with az keyvault secret set).')
param connxioClientSecret string = ''

@secure()
@description('JSON object of Connxio subscription id -> management API key. Empty: the Key Vault secret connxio-api-keys is left alone (set it later with az keyvault secret set).')
param connxioApiKeys string = ''

@description('Send an audit digest to a webhook. When true, AUDIT_WEBHOOK_URL is read from the Key Vault secret audit-webhook-url (webhook URLs usually embed a token).')
param enableAuditWebhook bool = false

@secure()
@description('Webhook URL for audit digests (stored as the Key Vault secret audit-webhook-url). Empty: the secret is left alone.')
param auditWebhookUrl string = ''

// Backup store ----------------------------------------------------------------------------------

@minLength(3)
@maxLength(63)
@description('Blob container that holds the snapshots (BACKUP_CONTAINER).')
param backupContainerName string = 'cxbackup'

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
@description('Redundancy of the backup storage account. Geo-redundant by default: a backup should outlive its region.')
param backupStorageSku string = 'Standard_GRS'

@minValue(1)
@maxValue(365)
@description('Days a deleted blob stays recoverable (blob soft delete).')
param blobSoftDeleteDays int = 14

@minValue(1)
@maxValue(365)
@description('Days a deleted container stays recoverable (container soft delete).')
param containerSoftDeleteDays int = 14

@minValue(1)
@maxValue(3650)
@description('A lifecycle rule deletes previous blob versions this many days after they became previous (versioning would otherwise keep every pruned blob forever).')
param previousVersionRetentionDays int = 30

@description('Version-level WORM on the backup container: every blob version is immutable for immutabilityDays. Decide before the first deployment: it can only be switched on when the container is created. The policy is deployed unlocked; lock it by hand (irreversible).')
param enableImmutability bool = false

@minValue(1)
@maxValue(146000)
@description('Days each blob version stays immutable when enableImmutability is true. Prune cannot delete a blob younger than this, so keep it at or below the age at which retention lets snapshots go.')
param immutabilityDays int = 14

@description('Set to true once the immutability policy has been locked by hand: a locked policy can only be extended (az storage container immutability-policy extend), and deployments then leave it alone.')
param immutabilityPolicyLocked bool = false

// Schedule, retention, guard --------------------------------------------------------------------

@description('NCRONTAB (with seconds) of the nightly backup, in UTC (BACKUP_SCHEDULE).')
param backupSchedule string = '0 0 2 * * *'

@minValue(0)
@description('Retention: keep the newest N snapshots (RETENTION_KEEP_LAST).')
param retentionKeepLast int = 7

@minValue(0)
@description('Retention: keep the last snapshot of each of the last N days (RETENTION_KEEP_DAILY).')
param retentionKeepDaily int = 30

@minValue(0)
@description('Retention: keep the last snapshot of each of the last N weeks (RETENTION_KEEP_WEEKLY).')
param retentionKeepWeekly int = 12

@minValue(0)
@description('Retention: keep the last snapshot of each of the last N months (RETENTION_KEEP_MONTHLY).')
param retentionKeepMonthly int = 24

@minValue(0)
@description('Grace period in days before prune deletes what retention no longer keeps (RETENTION_GRACE_DAYS).')
param retentionGraceDays int = 1

@description('Share (0..1) of integrations that may change between two snapshots before the audit flags a mass change (MASS_CHANGE_THRESHOLD). A string: Bicep has no decimals.')
param massChangeThreshold string = '0.2'

// Function App ----------------------------------------------------------------------------------

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption instance memory (MB).')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Upper bound on Flex Consumption instances. A nightly backup needs one; the cap bounds the cost of a flood of HTTP calls.')
param maximumInstanceCount int = 40

@description('Spread the Flex Consumption plan over availability zones (only in regions that offer it; fixed at creation).')
param zoneRedundant bool = false

@minValue(30)
@maxValue(730)
@description('Days the Log Analytics workspace (and so Application Insights) keeps logs.')
param logRetentionDays int = 90

// ---------------------------------------------------------------------------------------------
// Names and shared values
// ---------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
  application: 'cxbackup'
}

var functionAppName = 'func-cxbackup-${resourceToken}'
var planName = 'plan-cxbackup-${resourceToken}'
var hostStorageName = 'st${resourceToken}'
var backupStorageName = 'stbak${resourceToken}'
var keyVaultName = 'kv-cxb-${resourceToken}'
var logAnalyticsName = 'log-cxbackup-${resourceToken}'
var appInsightsName = 'appi-cxbackup-${resourceToken}'
var deploymentContainerName = 'app-package'

var clientSecretName = 'connxio-client-secret'
var apiKeysSecretName = 'connxio-api-keys'
var webhookSecretName = 'audit-webhook-url'

// Built-in role definition ids (the same in every tenant).
var roleStorageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var roleStorageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var roleStorageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
var roleKeyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var roleKeyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var roleMonitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry is accepted only from Entra ID identities (the app's, via the Monitoring Metrics
    // Publisher role below): a leaked connection string cannot write to it.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------------------------------------
// Host storage: AzureWebJobsStorage (timer leases, function keys) and the deployment package
// ---------------------------------------------------------------------------------------------

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: the name is computed ('st' + uniqueString(): 15 lowercase letters and digits), which checkov cannot evaluate; it meets the naming rules.
  // checkov:skip=CKV_AZURE_35: the Flex Consumption app reaches its host storage over the public endpoint; a deny-by-default firewall needs VNet integration and private endpoints, out of scope for this single-app deployment. Shared keys are off, so only Entra ID identities with a data role get in.
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: without VNet integration the Functions host needs the public endpoint; access is Entra ID only (allowSharedKeyAccess false).
  // checkov:skip=CKV_AZURE_206: the host account holds only runtime state (timer leases, function keys, which the host regenerates if lost) and the deployment package, which a redeploy restores; locally redundant is enough. The backups live in the geo-redundant backup account.
  name: hostStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// ---------------------------------------------------------------------------------------------
// Backup storage: the snapshots
// ---------------------------------------------------------------------------------------------

resource backupStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: the name is computed ('stbak' + uniqueString(): 18 lowercase letters and digits), which checkov cannot evaluate; it meets the naming rules.
  // checkov:skip=CKV_AZURE_35: the Flex Consumption app reaches the backup account over the public endpoint; a deny-by-default firewall needs VNet integration and private endpoints, out of scope for this single-app deployment. Shared keys are off, so only Entra ID identities with a data role on the container get in.
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: without VNet integration the app needs the public endpoint; access is Entra ID only (allowSharedKeyAccess false) and blob access is audited to Log Analytics.
  name: backupStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: backupStorageSku
  }
  properties: {
    accessTier: 'Hot'
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // The app authenticates with its managed identity; no account key or SAS can be used.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource backupBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: backupStorage
  name: 'default'
  properties: {
    // Blob versioning: an overwrite or delete keeps the previous version (and is required for
    // version-level immutability).
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: containerSoftDeleteDays
    }
  }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: backupBlobService
  name: backupContainerName
  properties: {
    publicAccess: 'None'
    // Version-level WORM support; can only be switched on when the container is created.
    immutableStorageWithVersioning: {
      enabled: enableImmutability
    }
  }
}

// The container's default time-based retention, applied to every new blob version. Deployed
// unlocked (it can still be shortened or removed); locking it is a deliberate, irreversible act
// (az storage container immutability-policy lock), after which immutabilityPolicyLocked keeps
// deployments from trying to rewrite it.
resource backupImmutabilityPolicy 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (enableImmutability && !immutabilityPolicyLocked) {
  parent: backupContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

// Versioning keeps a previous version of every blob that prune deletes; this rule lets them go.
resource backupLifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: backupStorage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-previous-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${backupContainerName}/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: previousVersionRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

// Who read, wrote or deleted which backup blob, kept in Log Analytics.
resource backupBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: backupBlobService
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Key Vault: the Connxio credentials
// ---------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: the Functions host resolves Key Vault references over the vault's public endpoint, and App Service is not a trusted service that bypasses the firewall; a deny-by-default firewall needs VNet integration and a private endpoint, out of scope here. Access is Entra ID RBAC only and audited.
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109: without VNet integration the Key Vault references need the public endpoint.
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Secrets are written only when a value is given: a later `azd provision` without them leaves the
// values set with `az keyvault secret set` untouched.
module clientSecret 'modules/keyvault-secret.bicep' = if (!empty(connxioClientSecret)) {
  name: 'secret-connxio-client-secret'
  params: {
    keyVaultName: keyVault.name
    secretName: clientSecretName
    secretValue: connxioClientSecret
    contentType: 'text/plain; Connxio OAuth client secret'
  }
}

module apiKeysSecret 'modules/keyvault-secret.bicep' = if (!empty(connxioApiKeys)) {
  name: 'secret-connxio-api-keys'
  params: {
    keyVaultName: keyVault.name
    secretName: apiKeysSecretName
    secretValue: connxioApiKeys
    contentType: 'application/json; Connxio subscription id -> API key'
  }
}

module webhookSecret 'modules/keyvault-secret.bicep' = if (!empty(auditWebhookUrl)) {
  name: 'secret-audit-webhook-url'
  params: {
    keyVaultName: keyVault.name
    secretName: webhookSecretName
    secretValue: auditWebhookUrl
    contentType: 'text/plain; audit webhook URL'
  }
}

resource keyVaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: keyVault
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Function App on Flex Consumption
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is a parameter (zoneRedundant, default off): it is offered only in some Flex Consumption regions and fixed when the plan is created; a nightly job that its timer retries tolerates a zone outage, and the backups themselves are geo-redundant.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: the HTTP API (run a backup, list snapshots, plan a restore) is called from operators' machines and CI, so the app needs a public endpoint; every route requires a function key over HTTPS.
  // checkov:skip=CKV_AZURE_17: callers authenticate with function keys over TLS 1.2+; requiring client certificates would add a PKI for operators and CI that this internal tool does not need.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; always-ready instances would bill around the clock for a job that runs once a night and is retried by its timer.
  // checkov:skip=CKV_AZURE_213: the App Service health check feature is not available on Flex Consumption (no load-balanced fixed instance pool); failures surface in Application Insights.
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Role assignments: least privilege for the app's identity
// ---------------------------------------------------------------------------------------------

// The Functions host keeps timer leases, function keys and the deployment package in blobs of its
// own account; identity-based AzureWebJobsStorage needs Blob Data Owner there (no queue or table
// role: the app has no queue or blob triggers).
resource hostStorageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionApp.id, roleStorageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleStorageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Read and write the snapshots: scoped to the backup container, not the account.
resource backupContainerContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupContainer.id, functionApp.id, roleStorageBlobDataContributor)
  scope: backupContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleStorageBlobDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Resolve the Key Vault references (read secrets only; no listing of keys or certificates).
resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, roleKeyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Send telemetry to Application Insights, whose local (key) auth is off.
resource appInsightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionApp.id, roleMonitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleMonitoringMetricsPublisher)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Let whoever deploys set and rotate the secrets (az keyvault secret set).
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(keyVault.id, principalId, roleKeyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsOfficer)
    principalId: principalId
  }
}

// Let whoever deploys look at the snapshots (az storage blob list --auth-mode login, or the
// cxbackup CLI with BACKUP_STORAGE_ACCOUNT_URL): read only, on the backup container.
resource deployerBackupReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(backupContainer.id, principalId, roleStorageBlobDataReader)
  scope: backupContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleStorageBlobDataReader)
    principalId: principalId
  }
}

// ---------------------------------------------------------------------------------------------
// App settings (after the role assignments, so the Key Vault references resolve on first start)
// ---------------------------------------------------------------------------------------------

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov applies its site-configuration ('web') checks to every Microsoft.Web/sites/config
  // resource; this one is 'appsettings' and holds none of those properties.
  // checkov:skip=CKV_AZURE_13: an 'appsettings' resource, not 'authsettings'; EasyAuth is not supported on Flex Consumption and the HTTP routes require a function key.
  // checkov:skip=CKV_AZURE_63: a 'web' config property that does not apply to 'appsettings'; Flex Consumption has no App Service HTTP logs, requests are logged to Application Insights.
  // checkov:skip=CKV_AZURE_65: a 'web' config property that does not apply to 'appsettings'; Flex Consumption has no detailed error pages, errors are logged to Application Insights.
  // checkov:skip=CKV_AZURE_66: a 'web' config property that does not apply to 'appsettings'; Flex Consumption has no failed request tracing, failures are logged to Application Insights.
  // checkov:skip=CKV_AZURE_80: a .NET Framework version check; this is a Python 3.11 app.
  // checkov:skip=CKV_AZURE_88: an Azure Files check for App Service content; Flex Consumption runs the package from a blob container and mounts no Azure Files share.
  // checkov:skip=CKV_AZURE_222: a 'web' property that does not apply to 'appsettings'; public network access is set (and its skip explained) on the function app itself.
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Functions host: identity-based host storage and Entra ID telemetry.
    AzureWebJobsStorage__accountName: hostStorage.name
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'

    // Connxio
    CONNXIO_BASE_URL: connxioBaseUrl
    CONNXIO_TOKEN_URL: connxioTokenUrl
    CONNXIO_CLIENT_ID: connxioClientId
    CONNXIO_SCOPE: connxioScope
    // Unversioned references: a new secret version is picked up within 24 hours, or at once after
    // any configuration change of the app (see README, "Rotating keys").
    CONNXIO_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${clientSecretName})'
    CONNXIO_API_KEYS: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${apiKeysSecretName})'

    // Backup store: the account URL only; the app signs in with its managed identity.
    BACKUP_STORAGE_ACCOUNT_URL: backupStorage.properties.primaryEndpoints.blob
    BACKUP_CONTAINER: backupContainerName
    BACKUP_SCHEDULE: backupSchedule
    AUDIT_WEBHOOK_URL: enableAuditWebhook ? '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${webhookSecretName})' : ''

    // Retention and the mass-change guard
    RETENTION_KEEP_LAST: string(retentionKeepLast)
    RETENTION_KEEP_DAILY: string(retentionKeepDaily)
    RETENTION_KEEP_WEEKLY: string(retentionKeepWeekly)
    RETENTION_KEEP_MONTHLY: string(retentionKeepMonthly)
    RETENTION_GRACE_DAYS: string(retentionGraceDays)
    MASS_CHANGE_THRESHOLD: massChangeThreshold
  }
  dependsOn: [
    hostStorageBlobOwner
    backupContainerContributor
    keyVaultSecretsUser
    appInsightsPublisher
    deploymentContainer
    clientSecret
    apiKeysSecret
    webhookSecret
  ]
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env; `azd env get-values` prints them)
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output FUNCTION_APP_NAME string = functionApp.name
output FUNCTION_APP_HOSTNAME string = functionApp.properties.defaultHostName
output FUNCTION_APP_URL string = 'https://${functionApp.properties.defaultHostName}'
output BACKUP_STORAGE_ACCOUNT_URL string = backupStorage.properties.primaryEndpoints.blob
output BACKUP_CONTAINER string = backupContainerName
output AZURE_KEY_VAULT_NAME string = keyVault.name
output APPLICATIONINSIGHTS_NAME string = appInsights.name
