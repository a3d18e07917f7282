"""``cost``: what a stage costs to run, from its synthesized templates, its configuration and the price table.

- endpoints (from the templates): instances per type, per hour and per month at their minimum and maximum
  instance counts; a scheduled endpoint (``Custom::ScheduledEndpoint``) is billed only for its window's hours
  (its instances are deleted outside it), shown beside its always-on figure and the saving;
- model preparation (from the templates): the job's instance type, its price per hour and the most one run can
  cost (its longest run), paid once per model, revision and serving settings;
- training (from the configuration): per hour of the configured training instances, and at most per run (the
  job's time limit);
- tuning runs (from ``training.tuning``): at most max jobs x instances x time limit instance-hours per run, priced
  by the training price;
- Bedrock (from the configuration): the unit prices per 1,000 input and output tokens of each token model (chat
  and embedding), and apart from them the prices per generated image of each image model, by quality and size
  class.

Prices come only from ``model_artifacts/pricing/prices.json``; a missing one is shown as "no published figure in
the table" with the query that finds it, never guessed, and every price used is listed with its source and date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from genai_kit.cli.assembly import SynthesizedStack
from genai_kit.cli.needs import bedrock_image_model_ids, bedrock_token_model_ids, training_needs
from genai_kit.contracts.schedule import EndpointSchedule
from genai_kit.names import StageNames
from genai_kit.pricing import ImagePrice, InstancePrice, PriceTable, TokenPrice


@dataclass(frozen=True)
class EndpointCost:
    """One synthesized endpoint and its price per instance-hour, if the table has it."""

    name: str
    instance_type: str
    min_instances: int
    max_instances: int
    price: InstancePrice | None
    # When the endpoint runs, if it is scheduled (None: always on).
    schedule: EndpointSchedule | None = None

    HOURS_PER_WEEK = 168

    def per_hour(self, instances: int) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * instances

    @property
    def running_share(self) -> float:
        """The share of the time it runs: its window's hours per week over 168, or 1 (always on)."""
        return 1.0 if self.schedule is None else self.schedule.weekly_hours() / self.HOURS_PER_WEEK

    def per_month(self, instances: int, hours_per_month: float, *, always_on: bool = False) -> float | None:
        """Its cost per month at ``instances``: for the hours it runs, or every hour with ``always_on``."""
        hourly = self.per_hour(instances)
        share = 1.0 if always_on else self.running_share
        return None if hourly is None else hourly * hours_per_month * share


@dataclass(frozen=True)
class PreparationCost:
    """One endpoint's model preparation job: its instance type, longest run (hours) and price, if the table has it."""

    endpoint: str
    instance_type: str
    max_hours: float
    price: InstancePrice | None

    @property
    def at_most(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.max_hours


@dataclass(frozen=True)
class TrainingCost:
    """The configured training instances and their price per instance-hour, if the table has it."""

    instance_type: str
    instance_count: int
    spot: bool
    price: InstancePrice | None
    # The job's time limit (StoppingCondition.MaxRuntimeInSeconds) in hours, when known: what one run costs at most.
    max_hours: float | None = None

    @property
    def per_hour(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.instance_count

    @property
    def at_most_per_run(self) -> float | None:
        per_hour = self.per_hour
        return None if per_hour is None or self.max_hours is None else per_hour * self.max_hours


@dataclass(frozen=True)
class TuningCost:
    """A tuning run of the configured training instances: at most ``max_jobs`` training jobs, each at most its time
    limit (``max_hours``, when known), priced per instance-hour by the training price, if the table has it."""

    instance_type: str
    instance_count: int
    max_jobs: int
    price: InstancePrice | None
    max_hours: float | None = None

    @property
    def instance_hours(self) -> float | None:
        """The most instance-hours one run may use (what training.tuning.max_instance_hours guards)."""
        return None if self.max_hours is None else self.max_jobs * self.instance_count * self.max_hours

    @property
    def at_most_per_run(self) -> float | None:
        hours = self.instance_hours
        return None if self.price is None or hours is None else self.price.usd_per_hour * hours


@dataclass(frozen=True)
class BedrockCost:
    """A configured Bedrock model or profile and its token prices, if the table has them."""

    model_id: str
    price: TokenPrice | None


@dataclass(frozen=True)
class BedrockImageCost:
    """A configured Bedrock image model and its per-image prices by quality and size class (empty: none in the
    table)."""

    model_id: str
    prices: tuple[ImagePrice, ...]


@dataclass(frozen=True)
class CostEstimate:
    """Everything ``cost`` reports for one stage."""

    stage: str
    region: str
    table: PriceTable
    endpoints: list[EndpointCost]
    preparations: list[PreparationCost]
    training: list[TrainingCost]
    bedrock: list[BedrockCost]
    bedrock_images: list[BedrockImageCost] = field(default_factory=list)
    tuning: list[TuningCost] = field(default_factory=list)
    # The endpoint approved fine-tuned versions are rolled out to: it exists from the first approval on, so it is
    # listed apart and not in ``monthly``.
    finetuned: EndpointCost | None = None

    def monthly(self, instances: str) -> float | None:
        """Sum over the priced endpoints at their ``min`` or ``max`` instance counts, per month, a scheduled one for
        its window's hours (None: none priced)."""
        monthly = [
            endpoint.per_month(
                endpoint.min_instances if instances == "min" else endpoint.max_instances, self.table.hours_per_month
            )
            for endpoint in self.endpoints
        ]
        priced = [value for value in monthly if value is not None]
        return sum(priced) if priced else None


def synthesized_endpoints(stacks: list[SynthesizedStack]) -> list[tuple[str, str, int, int]]:
    """(endpoint name, instance type, min instances, max instances) of every endpoint in the templates.

    The instance range is the autoscaling registration's (the ``Custom::EndpointScaling`` resources), or the
    variant's initial count without autoscaling.
    """
    found = []
    for stack in stacks:
        resources = stack.template.get("Resources", {})
        configs = _of_type(resources, "AWS::SageMaker::EndpointConfig")
        scaling = {
            props["EndpointName"]: (int(props["MinCapacity"]), int(props["MaxCapacity"]))
            for props in _of_type(resources, "Custom::EndpointScaling").values()
            if isinstance(props.get("EndpointName"), str)
        }
        endpoints = [
            *_of_type(resources, "AWS::SageMaker::Endpoint").values(),
            *_of_type(resources, "Custom::ScheduledEndpoint").values(),
        ]
        for props in endpoints:
            name = props.get("EndpointName")
            config_ref = props.get("EndpointConfigName", {})
            config_id = config_ref.get("Fn::GetAtt", [None])[0] if isinstance(config_ref, dict) else None
            if not isinstance(name, str) or config_id not in configs:
                continue
            for variant in configs[config_id].get("ProductionVariants", []):
                initial = int(variant.get("InitialInstanceCount", 1))
                low, high = scaling.get(name, (initial, initial))
                found.append((name, variant["InstanceType"], low, high))
    return sorted(found)


def synthesized_schedules(stacks: list[SynthesizedStack]) -> dict[str, EndpointSchedule]:
    """The schedule of every scheduled endpoint in the templates (its ``Custom::ScheduledEndpoint``), by name."""
    found = {}
    for stack in stacks:
        for props in _of_type(stack.template.get("Resources", {}), "Custom::ScheduledEndpoint").values():
            name, schedule = props.get("EndpointName"), props.get("Schedule")
            if isinstance(name, str) and isinstance(schedule, str):
                found[name] = EndpointSchedule.model_validate_json(schedule)
    return found


# What the cost report calls the fine-tuning pipeline's preparation of each accepted model (the Hugging Face kind's
# PrepareServing state, stacks/constructs/training_serving_states.py).
FINETUNED_PREPARATION = "fine-tuned model (each accepted run)"


def synthesized_preparations(stacks: list[SynthesizedStack]) -> list[tuple[str, str, float]]:
    """(endpoint name, instance type, longest run in hours) of every model preparation in the templates: each
    endpoint's, and the fine-tuning pipeline's PrepareServing job (named FINETUNED_PREPARATION), which runs once per
    accepted model."""
    found = []
    for stack in stacks:
        resources = stack.template.get("Resources", {})
        requests = [
            (str(props.get("JobNamePrefix", "")).removesuffix("-prep"), _json_with_placeholders(props.get("Request")))
            for props in _of_type(resources, "Custom::ModelPreparation").values()
        ]
        for props in _of_type(resources, "AWS::StepFunctions::StateMachine").values():
            states = _json_with_placeholders(props.get("DefinitionString")).get("States", {})
            if "PrepareServing" in states:
                requests.append((FINETUNED_PREPARATION, states["PrepareServing"].get("Parameters", {})))
        for endpoint, request in requests:
            instance_type = request.get("ResourceConfig", {}).get("InstanceType")
            seconds = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
            if endpoint and isinstance(instance_type, str) and isinstance(seconds, int):
                found.append((endpoint, instance_type, seconds / 3600))
    return sorted(found)


def _json_with_placeholders(value: Any) -> dict[str, Any]:
    """A JSON document a template writes with Fn::Join, its deploy-time values (inside strings) left as "?"."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        text = separator.join(part if isinstance(part, str) else "?" for part in parts)
    else:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _of_type(resources: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in resources.items()
        if resource.get("Type") == resource_type
    }


def estimate(
    *,
    stage: str,
    region: str,
    settings: Any,
    stacks: list[SynthesizedStack],
    table: PriceTable,
    training_max_hours: float | None = None,
) -> CostEstimate:
    """Price the stage's synthesized endpoints and its configured training and Bedrock models (token models per
    token, image models per image); a training run is priced at most ``training_max_hours`` (its time limit) when
    given, a tuning run (``training.tuning``) at most its max jobs such runs."""
    schedules = synthesized_schedules(stacks)
    endpoints = [
        EndpointCost(name, instance_type, low, high, table.hosting(region, instance_type), schedules.get(name))
        for name, instance_type, low, high in synthesized_endpoints(stacks)
    ]
    preparations = [
        PreparationCost(endpoint, instance_type, hours, table.training(region, instance_type))
        for endpoint, instance_type, hours in synthesized_preparations(stacks)
    ]
    training = [
        TrainingCost(
            need.instance_type,
            need.count,
            need.usage.startswith("spot"),
            table.training(region, need.instance_type),
            training_max_hours,
        )
        for need in training_needs(settings, at_most=False)
    ]
    bedrock = [BedrockCost(model_id, table.tokens(region, model_id)) for model_id in bedrock_token_model_ids(settings)]
    images = [
        BedrockImageCost(model_id, table.images(region, model_id)) for model_id in bedrock_image_model_ids(settings)
    ]
    # Read defensively, like training_needs: a stage without training or tuning has no tuning line.
    tuning_config = getattr(getattr(settings, "training", None), "tuning", None)
    max_jobs: int | None = getattr(tuning_config, "max_jobs", None)
    tuning = [
        TuningCost(t.instance_type, t.instance_count, max_jobs, t.price, t.max_hours)
        for t in training
        if max_jobs is not None
    ]
    finetuned = _finetuned_endpoint(stage, settings, table, region)
    return CostEstimate(stage, region, table, endpoints, preparations, training, bedrock, images, tuning, finetuned)


def _finetuned_endpoint(stage: str, settings: Any, table: PriceTable, region: str) -> EndpointCost | None:
    """The rollout's endpoint (``training.rollout``), when training and its rollout are on: the Lambda creates it on
    the first approval with ``rollout.instance_count`` instances of ``serving_instance_type``. Read defensively,
    like training_needs."""
    training = getattr(settings, "training", None)
    rollout = getattr(training, "rollout", None)
    instance_type = getattr(training, "serving_instance_type", None)
    if not getattr(training, "enabled", False) or not getattr(rollout, "enabled", False):
        return None
    if not isinstance(instance_type, str):
        return None
    count = int(getattr(rollout, "instance_count", 1))
    name = StageNames(stage).finetuned_endpoint
    return EndpointCost(name, instance_type, count, count, table.hosting(region, instance_type))
