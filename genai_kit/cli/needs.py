"""What a stage needs from its account, read from its configuration: instances of each type under the SageMaker
quota that covers them (endpoints, model preparation jobs, training), the Lambda concurrency its functions
reserve, and the Bedrock models and inference profiles it calls. ``preflight`` checks them against the account;
``cost`` prices them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from genai_kit.config.endpoints import SCHEDULER_RESERVED_CONCURRENCY
from genai_kit.config.training import ROLLOUT_RESERVED_CONCURRENCY


@dataclass(frozen=True)
class QuotaNeed:
    """Instances of one type the stage needs at once, under the quota named ``<type> for <usage>``."""

    instance_type: str
    count: int
    usage: Literal["endpoint usage", "training job usage", "spot training job usage"]
    why: str

    @property
    def quota_name(self) -> str:
        return f"{self.instance_type} for {self.usage}"


def endpoint_needs(endpoints: Iterable[Any]) -> list[QuotaNeed]:
    """Endpoint instances per type: each endpoint can scale to its ``max_instances``."""
    counts: Counter[str] = Counter()
    names: dict[str, list[str]] = {}
    for endpoint in endpoints:
        counts[endpoint.instance_type] += endpoint.config.autoscaling.max_instances
        names.setdefault(endpoint.instance_type, []).append(endpoint.name)
    return [
        QuotaNeed(instance_type, count, "endpoint usage", f"max instances of {', '.join(names[instance_type])}")
        for instance_type, count in sorted(counts.items())
    ]


def preparation_needs(endpoints: Iterable[Any]) -> list[QuotaNeed]:
    """Training instances of the model preparation jobs: a first deploy starts one per prepared endpoint."""
    counts: Counter[str] = Counter()
    names: dict[str, list[str]] = {}
    for endpoint in endpoints:
        preparation = getattr(endpoint, "preparation", None)
        if preparation is not None:
            counts[preparation.instance_type] += 1
            names.setdefault(preparation.instance_type, []).append(endpoint.name)
    return [
        QuotaNeed(instance_type, count, "training job usage", f"model preparation of {', '.join(names[instance_type])}")
        for instance_type, count in sorted(counts.items())
    ]


def finetuned_preparation_needs(training: Any) -> list[QuotaNeed]:
    """The Hugging Face kind's preparation of each accepted model: one training job at a time per execution, on the
    instance type the resolved training section names (``serving.preparation_instance_type``); none otherwise."""
    instance_type = getattr(getattr(training, "serving", None), "preparation_instance_type", None)
    if not isinstance(instance_type, str):
        return []
    return [QuotaNeed(instance_type, 1, "training job usage", "the fine-tuned model's preparation")]


def training_needs(settings: Any, *, at_most: bool = True) -> list[QuotaNeed]:
    """Training instances from the stage's ``training`` section, when the kit has one and it is enabled.

    Read defensively (``instance_type``, ``instance_count`` of the section or of its ``huggingface``, ``spot`` or
    ``use_spot`` as a flag or a section with ``enabled``). ``at_most`` counts the most instances an execution may
    ask for, times a tuning job's parallel training jobs (quotas); otherwise the configured count (cost).
    """
    training = getattr(settings, "training", None)
    if training is None or getattr(training, "enabled", True) is False:
        return []
    # The Hugging Face kind (training.huggingface) names its own instances.
    huggingface = getattr(training, "huggingface", None)
    if huggingface is not None:
        instance_type, count = getattr(huggingface, "instance_type", None), getattr(huggingface, "instance_count", 1)
    else:
        instance_type = getattr(training, "instance_type", None) or _catalog_training_default(training)
        count = getattr(training, "instance_count", 1)
    if not isinstance(instance_type, str):
        return []
    if at_most:
        # An execution may ask for up to max_instance_count instances: the quota must cover that.
        count = max(count, getattr(training, "max_instance_count", 1))
        # A tuning job (training.tuning) runs up to max_parallel_jobs training jobs at once.
        count *= int(getattr(getattr(training, "tuning", None), "max_parallel_jobs", 1) or 1)
    spot = _flag(getattr(training, "spot", None)) or _flag(getattr(training, "use_spot", None))
    usage: Literal["training job usage", "spot training job usage"] = (
        "spot training job usage" if spot else "training job usage"
    )
    return [QuotaNeed(instance_type, int(count), usage, "the training job")]


def concurrency_reservations(settings: Any) -> dict[str, int]:
    """The reserved concurrency each of the stage's functions takes from the account, by who takes it.

    The router reserves ``api.concurrency`` when the API is enabled, the deploy-on-approval function
    ``ROLLOUT_RESERVED_CONCURRENCY`` when training and its rollout are, the endpoint scheduler
    ``SCHEDULER_RESERVED_CONCURRENCY`` when an endpoint has a schedule; nothing else reserves.
    """
    reservations: dict[str, int] = {}
    api = getattr(settings, "api", None)
    if api is not None and getattr(api, "enabled", False):
        reservations["the API router"] = int(api.concurrency)
    training = getattr(settings, "training", None)
    rollout = getattr(training, "rollout", None)
    if getattr(training, "enabled", False) and getattr(rollout, "enabled", False):
        reservations["the deploy-on-approval function"] = ROLLOUT_RESERVED_CONCURRENCY
    if any(getattr(endpoint, "schedule", None) is not None for endpoint in getattr(settings, "endpoints", ())):
        reservations["the endpoint scheduler"] = SCHEDULER_RESERVED_CONCURRENCY
    return reservations


def _catalog_training_default(training: Any) -> str | None:
    """The catalog's default training instance type of the configured model (what the pipeline then uses)."""
    from genai_kit.catalog import CatalogError, load_entry  # noqa: PLC0415  (only when the config names no type)

    try:
        facts = load_entry(training.model_id, training.version).training
    except (AttributeError, CatalogError):
        return None
    return facts.default_instance_type if facts is not None else None


def bedrock_model_ids(settings: Any) -> list[str]:
    """Ids of the stage's Bedrock models and inference profiles (``bedrock.models[].id``), if the kit has them."""
    bedrock = getattr(settings, "bedrock", None)
    models = getattr(bedrock, "models", None) or ()
    return [str(model.id) for model in models if getattr(model, "id", None)]


def bedrock_token_model_ids(settings: Any) -> list[str]:
    """Ids of the stage's Bedrock models billed per token: every kind but ``image`` (chat and embedding)."""
    return [model_id for model_id, kind in _bedrock_kinds(settings) if kind != "image"]


def bedrock_image_model_ids(settings: Any) -> list[str]:
    """Ids of the stage's Bedrock image models (``kind: image``), billed per generated image, not per token."""
    return [model_id for model_id, kind in _bedrock_kinds(settings) if kind == "image"]


def _bedrock_kinds(settings: Any) -> list[tuple[str, str]]:
    bedrock = getattr(settings, "bedrock", None)
    models = getattr(bedrock, "models", None) or ()
    return [(str(model.id), str(getattr(model, "kind", "chat"))) for model in models if getattr(model, "id", None)]


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return bool(getattr(value, "enabled", False)) if value is not None else False
