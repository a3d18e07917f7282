"""Turn one entry of awslabs/generative-ai-cdk-constructs' generated JumpStart catalog into a catalog entry.

That catalog (``jumpstart-models.json``, reshaped to camelCase by its own generator) is the only public source of
the Stable Diffusion Neuron models' facts; the kit carries an extract of it (``tests/data/jumpstart/
gacc_catalog_extract/``, provenance in that folder's README). It holds less than a JumpStart spec: the fields it
lacks are left null and listed in the entry's ``missing``, never filled in. What each field becomes:

- ``instanceTypes``, ``defaultInstanceType``: the supported and default hosting instance types;
- ``prepackedArtifactKey`` (else ``artifactKey``): the model data, as the SDK prefers the prepacked artifact; a key
  ending in ``/`` is an uncompressed ``S3Prefix`` (the catalog's rule for JumpStart specs);
- ``environment``: the container's variables (values as strings, as SageMaker takes them); the generator keeps every
  ``inference_environment_variables`` default, not only those ``required_for_model_class`` (its
  ``code-generation/generate-jumpstart-models.ts`` at 4f0750d0, the newest copy read);
- ``instanceVariants``: family rows give the image alias (``$alias_ecr_uri_1``), instance-type rows the variant
  variables (e.g. ``NEURON_RT_NUM_CORES``); ``instanceAliases``: alias -> region -> image URI;
- ``gatedBucket`` / ``requiresEula``: carried by the extract's gated row (Llama 3), absent from the Stable Diffusion
  rows, so read as ungated without a EULA. The generator version that writes these keys was not read (the copies
  read predate them): this reading is unverified, and the entry's ``missing`` says so.
"""

from __future__ import annotations

from typing import Any

from genai_kit.catalog.refresh.convert import RefreshError, instance_family
from genai_kit.catalog.schema import SCHEMA_VERSION, CatalogEntry, HostingFacts, HostingInstance, Payload
from genai_kit.neuron import is_neuron

# The public copy the extract was taken from (tests/data/jumpstart/README.md).
GACC_SOURCE = "awslabs/generative-ai-cdk-constructs@9d49b9d3:jumpstart-models.json"
SOURCE_PREFIX = "gacc-extract:"

# What a JumpStart spec gives and the extract does not, for every entry converted from it.
MISSING = (
    "hosting.network_isolation: the spec's inference_enable_network_isolation; the stage turns isolation on, as "
    "the prepacked artifact in S3 holds the model and its inference code",
    "hosting.model_data_download_timeout, hosting.container_startup_health_check_timeout: the spec's deploy_kwargs; "
    "SageMaker's defaults apply unless the endpoint's configuration sets them",
    "hosting.instance_types.*.volume_size_gb: the spec's inference_volume_size; SageMaker's default applies unless "
    "the endpoint's configuration sets volume_size_gb",
    "hosting.environment: which variables are required_for_model_class; every variable of the extract is kept",
    "hosting.payload: the request and response schema of the model's inference.py (predictor_specs, "
    "default_payloads) and the image sizes it was compiled for; the API sends the JumpStart text-to-image request "
    "and takes only the sizes the endpoint's configuration lists (images.sizes)",
    "training: the extract has no training facts",
    "gated_bucket, eula_key: the extract's rows carry gatedBucket/requiresEula only where gated (its Llama 3 row); "
    "these rows have neither, read as ungated without a EULA (unverified: the generator that writes the keys was "
    "not read); a gated artifact would fail the deploy with access denied on jumpstart-cache-prod-<region>",
)


def source_of(key: str) -> str:
    """The ``source`` an entry converted from the extract's row ``key`` records."""
    return f"{SOURCE_PREFIX}{GACC_SOURCE}#{key}"


def is_gacc_source(source: str) -> bool:
    """Whether a catalog entry's ``source`` is the extract (the spec refresh cannot reproduce it)."""
    return source.startswith(SOURCE_PREFIX)


def convert_gacc(key: str, row: dict[str, Any], *, date: str) -> CatalogEntry:
    """The catalog entry of the extract's row ``key``. Raises ``RefreshError`` for a row the catalog cannot represent
    faithfully (not a text-to-image Neuron model, an image alias without a URI, variants it does not know)."""
    ident = f"{row.get('modelId')}@{row.get('version')}"
    if "-txt2imgneuron-" not in f"-{row['modelId']}-":
        raise RefreshError(f"model {ident}: only the text-to-image Neuron models are converted from the extract")
    instance_types = [str(t) for t in row["instanceTypes"]]
    images = _images(row, ident)
    family_alias: dict[str, str] = {}
    type_environment: dict[str, dict[str, str]] = {}
    for variant in row.get("instanceVariants", []):
        name = str(variant["instanceType"])
        if "imageUri" in variant:
            family_alias[name] = str(variant["imageUri"]).removeprefix("$")
        if "environment" in variant:
            type_environment[name] = {k: str(v) for k, v in variant["environment"].items()}
    key_of_artifact = row.get("prepackedArtifactKey") or row["artifactKey"]
    instances: dict[str, HostingInstance] = {}
    for instance_type in instance_types:
        alias = family_alias.get(instance_type) or family_alias.get(instance_family(instance_type))
        if alias is None or alias not in images:
            raise RefreshError(f"model {ident}: no image for {instance_type}")
        instances[instance_type] = HostingInstance(
            image=alias,
            environment=type_environment.get(instance_type, {}),
            artifact_key=key_of_artifact,
            volume_size_gb=None,
        )
    is_prefix = key_of_artifact.endswith("/")
    repositories = {uri.split("/", 1)[1].split(":", 1)[0] for uris in images.values() for uri in uris.values()}
    return CatalogEntry(
        schema_version=SCHEMA_VERSION,
        model_id=row["modelId"],
        version=row["version"],
        source=source_of(key),
        refreshed=date,
        inference_config=None,
        gated_bucket=bool(row.get("gatedBucket", False)),
        eula_key=row.get("requiresEula"),
        neuron_twin=None,
        hosting=HostingFacts(
            neuron=all(is_neuron(t) for t in instance_types),
            default_instance_type=row["defaultInstanceType"],
            supported_instance_types=tuple(instance_types),
            instance_types=instances,
            images={alias: images[alias] for alias in sorted({i.image for i in instances.values()})},
            environment={k: str(v) for k, v in row.get("environment", {}).items()},
            s3_data_type="S3Prefix" if is_prefix else "S3Object",
            compression="None" if is_prefix else "Gzip",
            network_isolation=None,
            payload=Payload(family="txt2img", image_repository=",".join(sorted(repositories))),
        ),
        training=None,
        missing=MISSING,
    )


def _images(row: dict[str, Any], ident: str) -> dict[str, dict[str, str]]:
    images: dict[str, dict[str, str]] = {}
    for regional in row.get("instanceAliases", []):
        for alias, uri in regional["aliases"].items():
            images.setdefault(str(alias), {})[str(regional["region"])] = str(uri)
    if not images:
        raise RefreshError(f"model {ident}: the extract gives no image URI")
    return {alias: dict(sorted(by_region.items())) for alias, by_region in images.items()}
