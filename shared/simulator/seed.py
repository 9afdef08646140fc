"""Deterministic, realistic Connxio data for the simulator.

Tests and the benchmark need an estate that looks like a real company's: integrations with every
property the contract's ``IntegrationConfig`` has (35 at the top level, nested objects filled in
the way the .NET service serialises them, nulls included), adapter settings serialised as JSON
strings, and credentials inside ``Secret`` objects. A backup that survives this data survives the
shapes the real service sends.

Everything is derived from ``random.Random(seed)`` and a fixed base time, never the wall clock,
so the same arguments always give byte-identical data.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# The 35 top-level properties of IntegrationConfig, in the order the contract lists them.
INTEGRATION_PROPERTIES: tuple[str, ...] = (
    "configCorrelationId",
    "description",
    "inboundConnection",
    "subIntegrations",
    "companyName",
    "companyId",
    "subscriptionName",
    "subscriptionId",
    "transactionType",
    "loggingWebhooks",
    "resendWebhooks",
    "internalLoggingOptions",
    "retryOptions",
    "sender",
    "receiver",
    "messageInboundFormat",
    "messageInboundEncoding",
    "removeBom",
    "handleAsBinaryFile",
    "internalProperties",
    "stopOnEncodingError",
    "pollingIntervalInSeconds",
    "intervalExpression",
    "enabled",
    "environment",
    "useApiKey",
    "archived",
    "moved",
    "id",
    "_etag",
    "cosmosEntityName",
    "createdBy",
    "updatedBy",
    "createdAtUtc",
    "updatedAtUtc",
)

# Properties whose value is a Secret object {"decryptedValue", "name", "version"}.
SECRET_FIELD_NAMES: frozenset[str] = frozenset(
    {
        "authorizationHeaderKey",
        "apimSubscriptionKey",
        "oAuthClientSecret",
        "oAuthPwd",
        "basicAuthenticationPassword",
    }
)

# Every seeded decryptedValue starts with this, so a leak is easy to grep for.
SECRET_PREFIX = "sk-live-"  # noqa: S105 - a marker, not a secret

# Seeded timestamps lie before this instant; live writes use the wall clock.
BASE_TIME = datetime(2026, 11, 2, 6, 0, 0, tzinfo=UTC)

COSMOS_ENTITY_NAME = "IntegrationConfig"

_SUBSCRIPTION_NAMES = (
    "Production",
    "Test",
    "Development",
    "Partner-EU",
    "Partner-US",
    "Staging",
    "QA",
    "Sandbox",
)
_TRANSACTION_TYPES = (
    "Order",
    "Invoice",
    "OrderResponse",
    "DespatchAdvice",
    "PriceCatalogue",
    "InventoryReport",
    "Shipment",
    "PaymentStatus",
    "Customer",
    "Product",
    "CreditNote",
    "TransportBooking",
)
_PARTNERS = (
    ("Acme Retail", "acme"),
    ("Contoso Wholesale", "contoso"),
    ("Northwind Traders", "northwind"),
    ("Fabrikam Logistics", "fabrikam"),
    ("Tailspin Freight", "tailspin"),
    ("Wingtip Foods", "wingtip"),
    ("Nordlys Handel", "nordlys"),
    ("Fjellvann Bygg", "fjellvann"),
    ("Bølgen Sjømat", "bolgen"),
    ("Litware Pharma", "litware"),
)
_SYSTEMS = ("ERP", "WMS", "TMS", "PIM", "CRM", "Finance", "EDI Hub", "Webshop")
_FORMATS = ("EDIFACT", "XML", "JSON", "CSV", "X12", "Flatfile")
_ENCODINGS = ("utf-8", "utf-8", "utf-8", "iso-8859-1", "windows-1252")
_INBOUND_ADAPTERS = ("Sftp", "Rest", "ServiceBus", "BlobStorage", "As2", "Ftp", "Email")
_OUTBOUND_ADAPTERS = ("Sftp", "Rest", "ServiceBus", "BlobStorage", "As2", "Ftp", "Smtp")
_TRANSFORMATION_TYPES = (
    "Xslt",
    "Liquid",
    "CodeComponent",
    "EdifactToXml",
    "XmlToJson",
    "Batching",
    "Splitting",
    "MapFlow",
)
_PEOPLE = (
    "jane.doe@contoso.example",
    "ola.nordmann@contoso.example",
    "kari.hansen@contoso.example",
    "per.olsen@contoso.example",
    "api:ci-pipeline",
)
_SENTENCES = (
    "Runs every weekday and is monitored by the integration team.",
    "Partner sends files in batches; each file may contain several documents.",
    "Mapping agreed with the partner in the onboarding workshop.",
    "Failed messages are retried before anyone is alerted.",
    "Contact the integration on-call engineer before disabling this flow.",
    "Values are converted to the receiver's units of measure.",
    "Lines without an article number are rejected by the receiver.",
    "Sjekk alltid kvitteringen fra mottaker før filen arkiveres.",
    "Historical documents are replayed from the archive when needed.",
    "Character set is normalised to UTF-8 before transformation.",
)
_ENV_VARIABLES = (
    ("ERP_BASE_URL", "erp.contoso.example"),
    ("SFTP_HOST", "sftp.contoso.example"),
    ("WMS_ENDPOINT", "wms.contoso.example"),
    ("LOG_WEBHOOK_HOST", "hooks.contoso.example"),
    ("SERVICEBUS_NAMESPACE", "sb-contoso.servicebus.windows.net"),
    ("ARCHIVE_CONTAINER", "archive"),
)


@dataclass
class SimulatorData:
    """The simulated company's estate: what the simulator serves and tests compare against.

    The simulator never mutates these objects (it replaces configs on write), so a test can keep
    a ``SimulatorData`` as the "before" picture; do not mutate it after handing it over.
    """

    company: dict[str, str]  # {"id", "name"}
    subscriptions: list[dict[str, Any]]  # {"id", "name", "active", "companyId", "companyName"}
    api_keys: dict[str, str]  # subscription id -> API key
    integrations: dict[str, list[dict[str, Any]]]  # subscription id -> IntegrationConfig list
    environment_variables: list[dict[str, Any]] = field(default_factory=list)
    security_configs: list[dict[str, Any]] = field(default_factory=list)
    code_components: list[dict[str, Any]] = field(default_factory=list)


def seed_estate(
    subscriptions: int = 3,
    integrations_per_subscription: int = 5,
    seed: int = 42,
    sub_integrations: tuple[int, int] = (1, 3),
    target_size_bytes: int | None = None,
) -> SimulatorData:
    """Generate a deterministic estate: the same arguments always give identical data.

    ``sub_integrations`` is the inclusive range of sub-integrations per integration.
    ``target_size_bytes`` asks for integrations whose compact JSON is roughly that many bytes
    (within ~10%, never below what one sub-integration and one webhook need); ``None`` keeps the
    natural size (about 4-9 kB).
    """
    if subscriptions < 0 or integrations_per_subscription < 0:
        raise ValueError(
            "seed_estate: subscriptions and integrations_per_subscription must be >= 0; "
            f"got {subscriptions} and {integrations_per_subscription}"
        )
    low, high = sub_integrations
    if low < 1 or high < low:
        raise ValueError(
            "seed_estate: sub_integrations must be (low, high) with 1 <= low <= high; "
            f"got {sub_integrations}"
        )
    if target_size_bytes is not None and target_size_bytes <= 0:
        raise ValueError(
            f"seed_estate: target_size_bytes must be positive or None; got {target_size_bytes}"
        )
    gen = _Generator(random.Random(seed))
    company = {"id": gen.uuid(), "name": "Contoso Logistics AS"}
    subs = [gen.subscription(index, company) for index in range(subscriptions)]
    api_keys = {sub["id"]: gen.api_key() for sub in subs}
    env_vars = gen.environment_variables(company, subs)
    security = gen.security_configs(company)
    components = gen.code_components(company)
    refs = _References(
        security_config_ids=[item["id"] for item in security],
        code_component_ids=[item["id"] for item in components],
    )
    integrations = {
        sub["id"]: [
            gen.integration(sub, refs, sub_integrations, target_size_bytes)
            for _ in range(integrations_per_subscription)
        ]
        for sub in subs
    }
    return SimulatorData(
        company=company,
        subscriptions=subs,
        api_keys=api_keys,
        integrations=integrations,
        environment_variables=env_vars,
        security_configs=security,
        code_components=components,
    )


def seeded_secret_values(data: SimulatorData) -> set[str]:
    """Every ``decryptedValue`` string in ``data``: what must never appear in a log or report."""
    found: set[str] = set()
    for configs in data.integrations.values():
        for config in configs:
            _collect_secret_values(config, found)
    for item in (*data.environment_variables, *data.security_configs, *data.code_components):
        _collect_secret_values(item, found)
    return found


def _collect_secret_values(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        secret = value.get("decryptedValue")
        if isinstance(secret, str) and secret:
            found.add(secret)
        for child in value.values():
            _collect_secret_values(child, found)
    elif isinstance(value, list):
        for child in value:
            _collect_secret_values(child, found)


def dotnet_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with seven fractional digits and 'Z', the way .NET writes DateTime."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _size(document: Any) -> int:
    return len(_compact(document).encode("utf-8"))


@dataclass(frozen=True)
class _References:
    security_config_ids: list[str]
    code_component_ids: list[str]


class _Generator:
    """Builds the pieces of an estate from one random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- primitives -------------------------------------------------------------------------

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def uuid(self) -> str:
        h = self.hex(32)
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def etag(self) -> str:
        h = self.hex(32)
        return f'"{h[:8]}-0000-0d00-0000-{h[20:]}"'

    def timestamp(self, moment: datetime) -> str:
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{self.rng.randrange(10_000_000):07d}Z"

    def api_key(self) -> str:
        return "cxk_" + self.hex(40)

    def secret(self, name: str) -> dict[str, Any]:
        return {
            "decryptedValue": SECRET_PREFIX + self.hex(32),
            "name": name,
            "version": self.hex(32),
        }

    def choice(self, options: tuple[Any, ...] | list[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    # -- company-level objects --------------------------------------------------------------

    def subscription(self, index: int, company: dict[str, str]) -> dict[str, Any]:
        if index < len(_SUBSCRIPTION_NAMES):
            name = _SUBSCRIPTION_NAMES[index]
        else:
            name = f"Subscription-{index + 1}"
        return {
            "id": self.uuid(),
            "name": name,
            "active": True,
            "companyId": company["id"],
            "companyName": company["name"],
        }

    def environment_variables(
        self, company: dict[str, str], subs: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        result = []
        for name, default in _ENV_VARIABLES:
            created = BASE_TIME - timedelta(days=self.rng.randint(200, 900))
            values = {}
            for sub in subs:
                if sub["name"] != "Production":
                    values[sub["id"]] = f"{sub['name'].lower()}-{default}"
            result.append(
                {
                    "id": self.uuid(),
                    "companyId": company["id"],
                    "name": name,
                    "defaultValue": default,
                    "subscriptionValues": values,
                    "createdAtUtc": self.timestamp(created),
                    "updatedAtUtc": self.timestamp(
                        created + timedelta(days=self.rng.randint(0, 150))
                    ),
                    "createdBy": self.choice(_PEOPLE[:4]),
                    "updatedBy": self.choice(_PEOPLE[:4]),
                }
            )
        return result

    def security_configs(self, company: dict[str, str]) -> list[dict[str, Any]]:
        result = []
        for index, (name, kind) in enumerate(
            (("sftp-partner-keys", 1), ("erp-oauth", 2), ("as2-certificates", 3), ("sb-sas", 4))
        ):
            created = BASE_TIME - timedelta(days=self.rng.randint(300, 900))
            result.append(
                {
                    "createdBy": self.choice(_PEOPLE[:4]),
                    "updatedBy": self.choice(_PEOPLE[:4]),
                    "createdAtUtc": self.timestamp(created),
                    "updatedAtUtc": self.timestamp(
                        created + timedelta(days=self.rng.randint(0, 90))
                    ),
                    "deletedAtUtc": None,
                    "deletedBy": None,
                    "id": self.uuid(),
                    "correlationId": self.uuid(),
                    "apimSubscription": None,
                    "eTag": self.etag(),
                    "eTagSetter": None,
                    "cosmosEntityName": "SecurityConfig",
                    "name": name,
                    "companyId": company["id"],
                    "auditCorrelationId": self.uuid(),
                    "isGlobal": index == 0,
                    "securityType": kind,
                    "globalSecurityProperties": {},
                    "securityProperties": {
                        "keyVaultReference": {"vaultName": "kv-cx-contoso", "secretName": name}
                    },
                }
            )
        return result

    def code_components(self, company: dict[str, str]) -> list[dict[str, Any]]:
        result = []
        for name in ("OrderMapper", "InvoiceEnricher", "EdifactSplitter"):
            updated = BASE_TIME - timedelta(days=self.rng.randint(10, 400))
            result.append(
                {
                    "id": self.uuid(),
                    "uniqueId": self.uuid(),
                    "companyId": company["id"],
                    "name": name,
                    "description": f"Contoso.{name}: custom transformation step.",
                    "version": ".".join(str(self.rng.randint(0, top)) for top in (3, 9, 20)),
                    "sasUri": None,
                    "deprecated": False,
                    "type": "Transformation",
                    "componentOriginalFilename": f"Contoso.{name}.dll",
                    "uploadedBy": self.choice(_PEOPLE[:4]),
                    "lastUpdated": self.timestamp(updated),
                    "versionConverted": self.rng.randint(100, 320),
                }
            )
        return result

    # -- integrations -----------------------------------------------------------------------

    def integration(
        self,
        sub: dict[str, Any],
        refs: _References,
        sub_range: tuple[int, int],
        target_size: int | None,
    ) -> dict[str, Any]:
        rng = self.rng
        transaction = self.choice(_TRANSACTION_TYPES)
        sender_partner = self.choice(_PARTNERS)
        receiver_partner = self.choice(_PARTNERS)
        sender = f"{sender_partner[0]} {self.choice(_SYSTEMS)}"
        receiver = f"{receiver_partner[0]} {self.choice(_SYSTEMS)}"
        inbound_format = self.choice(_FORMATS)
        inbound_adapter = self.choice(_INBOUND_ADAPTERS)
        created = BASE_TIME - timedelta(days=rng.randint(30, 1200), seconds=rng.randint(0, 86_399))
        updated = created + timedelta(days=rng.randint(0, 29), seconds=rng.randint(0, 86_399))
        n_subs = rng.randint(*sub_range)
        small = target_size is not None
        # A sized integration starts from its smallest shape and grows in pad_to.
        logging_count = 0 if small else rng.randint(0, 2)
        resend_count = 0 if small else rng.randint(0, 1)
        interval = inbound_adapter in ("Sftp", "Ftp", "BlobStorage", "Email")
        config: dict[str, Any] = {
            "configCorrelationId": self.uuid(),
            "description": (
                f"{transaction} from {sender} to {receiver} "
                f"({inbound_format} via {inbound_adapter}). {self.choice(_SENTENCES)}"
            ),
            "inboundConnection": self.connection(
                inbound_adapter, sender_partner[1], "in", refs, polling=interval
            ),
            "subIntegrations": [
                self.sub_integration(transaction, sender, receiver_partner, refs, small)
                for _ in range(sub_range[0] if small else n_subs)
            ],
            "companyName": sub["companyName"],
            "companyId": sub["companyId"],
            "subscriptionName": sub["name"],
            "subscriptionId": sub["id"],
            "transactionType": transaction,
            "loggingWebhooks": [self.logging_webhook(small) for _ in range(logging_count)],
            "resendWebhooks": [self.resend_webhook() for _ in range(resend_count)],
            "internalLoggingOptions": {
                "logLevel": rng.randint(0, 4),
                "logMessageContent": self.chance(0.5),
                "logMetaData": True,
            },
            "retryOptions": {
                "failureCountIntervalMinutes": self.choice((5, 10, 15, None)),
                "reQueueMaxDelaySeconds": self.choice((300, 600, 3600)),
                "reQueueMinDelaySeconds": self.choice((10, 30, 60)),
                "maxErrorsPerInterval": self.choice((3, 5, 10, None)),
                "numberOfRetries": rng.randint(0, 5),
                "enabled": self.chance(0.8),
                "turnOffErrorPersistance": False,
                "maxDelayActions": self.choice((None, 3, 5)),
                "inboundRetryOptions": {
                    "failureRetryIntervalSeconds": self.choice((None, 30, 60, 300)),
                    "turnOffFailureRetry": False,
                    "retryOnNonTransientFailures": self.chance(0.2),
                },
            },
            "sender": sender,
            "receiver": receiver,
            "messageInboundFormat": inbound_format,
            "messageInboundEncoding": self.choice(_ENCODINGS),
            "removeBom": self.chance(0.3),
            "handleAsBinaryFile": inbound_format == "Flatfile" and self.chance(0.5),
            "internalProperties": {
                "redirectInboundToRetry": False,
                "redirectBatchingToRetry": False,
                "redirectSplittingToRetry": self.chance(0.1),
            },
            "stopOnEncodingError": self.chance(0.2),
            "pollingIntervalInSeconds": self.choice((30, 60, 300, 900)) if interval else 0,
            "intervalExpression": "0 */15 * * * *" if interval and self.chance(0.3) else None,
            "enabled": self.chance(0.9),
            "environment": 1 if sub["name"] == "Production" else 0,
            "useApiKey": inbound_adapter == "Rest",
            "archived": self.chance(0.04),
            "moved": self.chance(0.02),
            "id": self.uuid(),
            "_etag": self.etag(),
            "cosmosEntityName": COSMOS_ENTITY_NAME,
            "createdBy": self.choice(_PEOPLE),
            "updatedBy": self.choice(_PEOPLE),
            "createdAtUtc": self.timestamp(created),
            "updatedAtUtc": self.timestamp(updated),
        }
        if target_size is not None:
            self.pad_to(config, target_size, n_subs, refs)
        return config

    def connection(
        self,
        adapter: str,
        partner_slug: str,
        direction: str,
        refs: _References,
        polling: bool = False,
    ) -> dict[str, Any]:
        return {
            "adapterType": adapter,
            "useProcessLock": self.chance(0.2),
            "wrapperType": self.rng.randint(0, 2),
            "mightBeWrapped": False,
            "adapterId": self.uuid(),
            "adapterName": f"{adapter} {partner_slug} {direction}",
            "connectionProperties": _compact(
                self.connection_properties(adapter, partner_slug, direction, refs)
            ),
            "ackOptions": self.ack_options() if self.chance(0.1) else None,
            "condition": self.condition(),
            "intervalOptions": (
                {
                    "useInterval": True,
                    "pollingIntervalInSeconds": self.choice((60, 300)),
                    "intervalExpression": None,
                    "retryOptions": {
                        "failureRetryIntervalSeconds": self.choice((None, 60)),
                        "turnOffFailureRetry": False,
                        "retryOnNonTransientFailures": False,
                    },
                }
                if polling
                else None
            ),
        }

    def ack_options(self) -> dict[str, Any]:
        return {
            "sendAck": True,
            "adapterType": "Rest",
            "connectionProperties": _compact(
                {"url": "https://{{ERP_BASE_URL}}/api/ack", "httpVerb": "POST"}
            ),
            "transformationSasUri": None,
            "transformationId": None,
            "transformationVersion": None,
            "ackOutboundFormat": "JSON",
            "useZipMapping": False,
            "sendNegativeAck": self.chance(0.5),
            "dllFileNameWithExtension": None,
        }

    def condition(self) -> dict[str, Any] | None:
        if self.chance(0.9):
            return None
        return {"enabled": True, "expression": "$.header.documentType != 'TEST'"}

    def connection_properties(
        self, adapter: str, slug: str, direction: str, refs: _References
    ) -> dict[str, Any]:
        security = self.choice(refs.security_config_ids)
        if adapter in ("Sftp", "Ftp"):
            return {
                "host": f"sftp.{slug}.example" if self.chance(0.7) else "{{SFTP_HOST}}",
                "port": 22 if adapter == "Sftp" else 21,
                "path": f"/{direction}/{slug}",
                "filePattern": self.choice(("*.xml", "*.edi", "*.csv", "*.json")),
                "userName": f"cx_{slug}",
                "securityConfigId": security,
                "deleteAfterRead": direction == "in",
            }
        if adapter == "Rest":
            return {
                "url": f"https://{{{{ERP_BASE_URL}}}}/api/{slug}/{direction}",
                "httpVerb": "POST" if direction == "out" else "GET",
                "authorizationType": self.choice(("OAuth2", "ApiKey", "Basic")),
                "securityConfigId": security,
                "timeoutSeconds": self.choice((30, 60, 100)),
                "headers": {"Accept": "application/json"},
            }
        if adapter == "ServiceBus":
            return {
                "namespace": "{{SERVICEBUS_NAMESPACE}}",
                "entityPath": f"{slug}-{direction}",
                "subscriptionName": "connxio" if direction == "in" else None,
                "securityConfigId": security,
            }
        if adapter == "BlobStorage":
            return {
                "accountName": f"st{slug}data",
                "container": "{{ARCHIVE_CONTAINER}}",
                "folder": f"{slug}/{direction}",
                "securityConfigId": security,
            }
        if adapter == "As2":
            return {
                "as2From": f"CONTOSO-{direction.upper()}",
                "as2To": slug.upper(),
                "url": f"https://as2.{slug}.example/receive",
                "signingAlgorithm": "SHA256",
                "securityConfigId": security,
            }
        return {
            "mailbox": f"edi-{slug}@contoso.example",
            "subjectFilter": f"{slug} documents",
            "securityConfigId": security,
        }

    def sub_integration(
        self,
        transaction: str,
        sender: str,
        receiver_partner: tuple[str, str],
        refs: _References,
        small: bool,
    ) -> dict[str, Any]:
        adapter = self.choice(_OUTBOUND_ADAPTERS)
        out_format = self.choice(_FORMATS)
        n_transformations = 1 if small else self.rng.randint(1, 3)
        receiver = f"{receiver_partner[0]} {self.choice(_SYSTEMS)}"
        return {
            "subIntegrationId": self.uuid(),
            "subintegrationName": f"{transaction} to {receiver}",
            "sender": sender,
            "receiver": receiver,
            "loggingWebhookOverrides": (
                {
                    "logLevel": self.rng.randint(0, 4),
                    "inboundMesssageType": None,
                    "outboundMessageType": None,
                    "logMessageContent": None,
                    "transactionTag": transaction.lower(),
                    "customInboundDescription": None,
                    "customOutboundDescription": None,
                    "logMetaData": None,
                    "enabled": True,
                }
                if self.chance(0.25)
                else None
            ),
            "transformations": [self.transformation(refs) for _ in range(n_transformations)],
            "passThrough": False,
            "outboundConnections": [self.connection(adapter, receiver_partner[1], "out", refs)],
            "messageOutboundFormat": out_format,
            "messageOutboundEncoding": self.choice(_ENCODINGS),
            "internalProperties": {
                "redirectInboundToRetry": False,
                "redirectBatchingToRetry": False,
                "redirectSplittingToRetry": False,
            },
            "enabled": self.chance(0.95),
            "preDefinedUserProperties": (
                {"partner": receiver_partner[1], "flow": transaction} if self.chance(0.4) else None
            ),
            "condition": self.condition(),
        }

    def transformation(self, refs: _References) -> dict[str, Any]:
        kind = self.choice(_TRANSFORMATION_TYPES)
        if kind == "CodeComponent":
            properties: dict[str, Any] = {
                "codeComponentId": self.choice(refs.code_component_ids),
                "version": f"{self.rng.randint(1, 3)}.{self.rng.randint(0, 9)}.0",
            }
        elif kind in ("Xslt", "Liquid"):
            properties = {
                "fileName": f"map-{self.hex(6)}.{'xslt' if kind == 'Xslt' else 'liquid'}",
                "version": str(self.rng.randint(1, 12)),
            }
        elif kind in ("Batching", "Splitting"):
            properties = {"xpath": "/Envelope/Document", "maxBatchSize": self.choice((50, 100))}
        else:
            properties = {"strict": self.chance(0.5), "namespace": "urn:contoso:edi"}
        return {
            "id": self.uuid(),
            "transformationType": kind,
            "transformationName": f"{kind} step {self.hex(4)}",
            "properties": _compact(properties),
        }

    def logging_webhook(self, small: bool) -> dict[str, Any]:
        external = not small and self.chance(0.35)
        webhook: dict[str, Any] = {
            "contract": self.rng.randint(0, 1),
            "endpointURL": "https://{{LOG_WEBHOOK_HOST}}/connxio/log/" + self.hex(8),
            "httpVerb": "POST",
            "webhookConnectionId": self.uuid(),
            "adapterType": self.rng.randint(0, 12),
            "queryString": None,
            "maxRetries": self.rng.randint(0, 5),
            "timeout": self.choice((30, 60, 100)),
            "authorizationHeaderKey": self.secret("logging-webhook-key"),
            "type": self.rng.randint(0, 5),
            "enabled": self.chance(0.9),
            "headers": {"X-Source": "connxio"} if self.chance(0.5) else None,
            "logLevel": self.rng.randint(0, 4),
            "inboundMesssageType": None,
            "outboundMessageType": None,
            "logMessageContent": self.chance(0.3),
            "transactionTag": None,
            "customInboundDescription": None,
            "customOutboundDescription": None,
            "logMetaData": True,
            "useExternalContentService": external,
            "sendContentOnExternalServiceFailure": False if external else None,
            "externalContentServiceWebhook": self.external_content_service() if external else None,
        }
        return webhook

    def external_content_service(self) -> dict[str, Any]:
        basic = self.chance(0.5)
        return {
            "endpointURL": f"https://content.contoso.example/archive/{self.hex(6)}",
            "httpVerb": "PUT",
            "webhookConnectionId": self.uuid(),
            "authorizationHeaderType": "Basic" if basic else "OAuth2",
            "apimSubscriptionKey": self.secret("content-apim-key") if self.chance(0.3) else None,
            "oAuthUrl": None if basic else "https://login.contoso.example/oauth2/v2.0/token",
            "oAuthBody": None,
            "oAuthClientId": None if basic else self.uuid(),
            "oAuthClientSecret": None if basic else self.secret("content-oauth-secret"),
            "headers": None,
            "body": None,
            "usePaging": False,
            "useDateDelta": False,
            "pagingType": 0,
            "nextLinkType": 0,
            "pathName": None,
            "oAuthGrantType": None if basic else "client_credentials",
            "oAuthUserName": None,
            "oAuthPwd": None,
            "oAuthResource": None,
            "oAuthScope": None if basic else "api://content/.default",
            "customAuthenticationProperties": None,
            "basicAuthenticationUserName": "cx-archive" if basic else None,
            "basicAuthenticationPassword": self.secret("content-basic-pwd") if basic else None,
            "newInternalMessageCorrelationId": None,
            "newInternalMessagePreserveInterchangeId": False,
            "useFallBackOnRequestFailed": False,
            "fallBackOnThreeHoundred": False,
            "fallBackOnFourHoundred": False,
            "fallBackOnFiveHoundred": True,
            "restConnectionPropertiesSecondary": None,
            "useStaticIp": False,
            "terminateOnDuplicateDetection": False,
            "duplicateTerminationStatus": None,
            "restResponseErrorHandlingRules": [
                {"statusCodes": "500-599", "action": 0, "retry": True, "customStatus": None}
            ],
            "customTimeout": 100,
            "useCustomTokenHeader": None,
            "customTokenHeader": {"key": None, "value": None},
        }

    def resend_webhook(self) -> dict[str, Any]:
        return {
            "contract": self.rng.randint(0, 1),
            "endpointURL": f"https://resend.contoso.example/hooks/{self.hex(8)}",
            "httpVerb": "POST",
            "webhookConnectionId": self.uuid(),
            "adapterType": self.rng.randint(0, 12),
            "queryString": None,
            "maxRetries": self.rng.randint(0, 5),
            "timeout": 60,
            "authorizationHeaderKey": self.secret("resend-webhook-key"),
            "type": self.rng.randint(0, 5),
            "enabled": True,
            "headers": None,
            "usePureMessageSending": self.chance(0.5),
        }

    # -- sizing -----------------------------------------------------------------------------

    def pad_to(
        self,
        config: dict[str, Any],
        target: int,
        n_subs: int,
        refs: _References,
    ) -> None:
        """Grow ``config`` with realistic parts towards ``target`` bytes.

        First a logging webhook (so most sized configs carry a secret), then sub-integrations up
        to ``n_subs``, then random transformations, webhooks and outbound connections, and
        finally prose in the description. It never shrinks: a target below the smallest shape
        (about 3.3 kB) yields the smallest shape.
        """
        size = _size(config)
        slack = max(target // 20, 60)
        sender, transaction = config["sender"], config["transactionType"]
        receiver_partner = self.choice(_PARTNERS)
        subs = config["subIntegrations"]

        def fits(part: dict[str, Any]) -> bool:
            return size + _size(part) + 1 <= target + slack

        webhook = self.logging_webhook(small=True)
        if fits(webhook):
            config["loggingWebhooks"].append(webhook)
            size += _size(webhook) + 1
        while len(subs) < n_subs:
            sub = self.sub_integration(transaction, sender, receiver_partner, refs, small=True)
            if not fits(sub):
                break
            subs.append(sub)
            size += _size(sub) + 1
        while size < target - slack:
            kind = self.rng.randrange(4)
            if kind == 0:
                part: dict[str, Any] = self.transformation(refs)
                container = self.choice(subs)["transformations"]
            elif kind == 1:
                part = self.resend_webhook()
                container = config["resendWebhooks"]
            elif kind == 2:
                part = self.logging_webhook(small=self.chance(0.6))
                container = config["loggingWebhooks"]
            else:
                part = self.connection(
                    self.choice(_OUTBOUND_ADAPTERS), receiver_partner[1], "out", refs
                )
                container = self.choice(subs)["outboundConnections"]
            part_size = _size(part) + 1
            if size + part_size > target:
                break
            container.append(part)
            size += part_size
        deficit = target - size
        if deficit > 0:
            original = config["description"]
            sentences = [original]
            grown = 0
            while grown < deficit:
                sentence = self.choice(_SENTENCES)
                sentences.append(sentence)
                grown += len(sentence.encode("utf-8")) + 1
            # Trim to the deficit so the result lands close to the target.
            keep = len(original.encode("utf-8")) + deficit
            encoded = " ".join(sentences).encode("utf-8")[:keep]
            config["description"] = encoded.decode("utf-8", errors="ignore").rstrip()
