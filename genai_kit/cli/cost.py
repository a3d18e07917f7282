"""``cost``: what a stage costs to run, from its synthesized templates, its configuration and the price table.

- endpoints (from the templates): instances per type, per hour and per month at their minimum and maximum
  instance counts;
- model preparation (from the templates): the job's instance type, its price per hour and the most one run can
  cost (its longest run), paid once per model, revision and serving settings;
- training (from the configuration): per hour of the configured training instances;
- Bedrock (from the configuration): the unit prices per 1,000 input and output tokens of each model.

Prices come only from ``model_artifacts/pricing/prices.json``; a missing one is shown as "no price in table".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from genai_kit.cli.assembly import SynthesizedStack
from genai_kit.cli.needs import bedrock_model_ids, training_needs
from genai_kit.cli.table import render_table
from genai_kit.pricing import InstancePrice, PriceTable, TokenPrice

NO_PRICE = "no price in table"


@dataclass(frozen=True)
class EndpointCost:
    """One synthesized endpoint and its price per instance-hour, if the table has it."""

    name: str
    instance_type: str
    min_instances: int
    max_instances: int
    price: InstancePrice | None

    def per_hour(self, instances: int) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * instances


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

    @property
    def per_hour(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.instance_count


@dataclass(frozen=True)
class BedrockCost:
    """A configured Bedrock model or profile and its token prices, if the table has them."""

    model_id: str
    price: TokenPrice | None


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

    def monthly(self, instances: str) -> float | None:
        """Sum over the priced endpoints at their ``min`` or ``max`` instance counts, per month (None: none priced)."""
        hourly = [
            endpoint.per_hour(endpoint.min_instances if instances == "min" else endpoint.max_instances)
            for endpoint in self.endpoints
        ]
        priced = [value for value in hourly if value is not None]
        return sum(priced) * self.table.hours_per_month if priced else None


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
        for props in _of_type(resources, "AWS::SageMaker::Endpoint").values():
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


def synthesized_preparations(stacks: list[SynthesizedStack]) -> list[tuple[str, str, float]]:
    """(endpoint name, instance type, longest run in hours) of every model preparation in the templates."""
    found = []
    for stack in stacks:
        resources = stack.template.get("Resources", {})
        for props in _of_type(resources, "Custom::ModelPreparation").values():
            request = _json_with_placeholders(props.get("Request"))
            endpoint = str(props.get("JobNamePrefix", "")).removesuffix("-prep")
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
    *, stage: str, region: str, settings: Any, stacks: list[SynthesizedStack], table: PriceTable
) -> CostEstimate:
    """Price the stage's synthesized endpoints and its configured training and Bedrock models."""
    endpoints = [
        EndpointCost(name, instance_type, low, high, table.hosting(region, instance_type))
        for name, instance_type, low, high in synthesized_endpoints(stacks)
    ]
    preparations = [
        PreparationCost(endpoint, instance_type, hours, table.training(region, instance_type))
        for endpoint, instance_type, hours in synthesized_preparations(stacks)
    ]
    training = [
        TrainingCost(
            need.instance_type, need.count, need.usage.startswith("spot"), table.training(region, need.instance_type)
        )
        for need in training_needs(settings, at_most=False)
    ]
    bedrock = [BedrockCost(model_id, table.tokens(region, model_id)) for model_id in bedrock_model_ids(settings)]
    return CostEstimate(stage, region, table, endpoints, preparations, training, bedrock)


def _usd(value: float | None, digits: int = 2) -> str:
    return NO_PRICE if value is None else f"${value:,.{digits}f}"


def _range(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return NO_PRICE
    return _usd(low, digits) if low == high else f"{_usd(low, digits)} - {_usd(high, digits)}"


def render_text(result: CostEstimate) -> str:
    """A table per kind of cost (endpoints, model preparation, training, Bedrock), then the monthly total and what
    the figures leave out."""
    sections = [f"Estimated on-demand cost of stage '{result.stage}' in {result.region}"]
    if result.endpoints:
        sections.append(_endpoints_table(result))
    if result.preparations:
        sections.append(_preparations_table(result))
    if result.training:
        sections.append(_training_table(result))
    if result.bedrock:
        sections.append(_bedrock_table(result))
    unpriced = sorted({e.instance_type for e in result.endpoints if e.price is None})
    total = f"Endpoints per month: {_range(result.monthly('min'), result.monthly('max'))}"
    if unpriced:
        total += f" (without {', '.join(unpriced)}: {NO_PRICE})"
    sections.append(
        f"{total}\nPrices as of {result.table.as_of} ({result.table.currency}, model_artifacts/pricing/prices.json): "
        "on-demand list prices without storage, data transfer, logs, savings plans or taxes."
    )
    return "\n\n".join(sections)


def _endpoints_table(result: CostEstimate) -> str:
    hours = result.table.hours_per_month
    rows = [
        [
            endpoint.name,
            endpoint.instance_type,
            f"{endpoint.min_instances}-{endpoint.max_instances}",
            _usd(endpoint.price.usd_per_hour if endpoint.price else None, 4),
            _range(endpoint.per_hour(endpoint.min_instances), endpoint.per_hour(endpoint.max_instances)),
            _range(
                _times(endpoint.per_hour(endpoint.min_instances), hours),
                _times(endpoint.per_hour(endpoint.max_instances), hours),
            ),
        ]
        for endpoint in result.endpoints
    ]
    headers = ["ENDPOINT", "INSTANCE TYPE", "INSTANCES", "PER INSTANCE-HOUR", "PER HOUR", f"PER MONTH ({hours} h)"]
    return "Endpoints (always on, from the synthesized templates)\n" + render_table(headers, rows)


def _preparations_table(result: CostEstimate) -> str:
    rows = [
        [
            p.endpoint,
            p.instance_type,
            _usd(p.price.usd_per_hour if p.price else None, 4),
            f"{p.max_hours:g}",
            _usd(p.at_most),
        ]
        for p in result.preparations
    ]
    return (
        "Model preparation (a training job, once per model, revision and serving settings; reused after)\n"
        + render_table(["ENDPOINT", "INSTANCE TYPE", "PER INSTANCE-HOUR", "LONGEST RUN (H)", "AT MOST"], rows)
    )


def _training_table(result: CostEstimate) -> str:
    rows = [
        [
            t.instance_type + (" (spot)" if t.spot else ""),
            str(t.instance_count),
            _usd(t.price.usd_per_hour if t.price else None, 4),
            _usd(t.per_hour),
        ]
        for t in result.training
    ]
    note = " (spot is billed below these on-demand prices)" if any(t.spot for t in result.training) else ""
    return f"Training (while a job runs{note})\n" + render_table(
        ["INSTANCE TYPE", "COUNT", "PER INSTANCE-HOUR", "PER HOUR"], rows
    )


def _bedrock_table(result: CostEstimate) -> str:
    rows = [
        [
            b.model_id,
            _usd(b.price.input_per_1k_tokens if b.price else None, 6),
            _usd(b.price.output_per_1k_tokens if b.price else None, 6),
        ]
        for b in result.bedrock
    ]
    return "Bedrock (per use)\n" + render_table(["MODEL", "PER 1,000 INPUT TOKENS", "PER 1,000 OUTPUT TOKENS"], rows)


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def render_json(result: CostEstimate) -> str:
    """The same figures for scripts; a missing price is ``null``."""
    hours = result.table.hours_per_month
    document = {
        "stage": result.stage,
        "region": result.region,
        "currency": result.table.currency,
        "prices_as_of": result.table.as_of.isoformat(),
        "hours_per_month": hours,
        "endpoints": [
            {
                "name": e.name,
                "instance_type": e.instance_type,
                "min_instances": e.min_instances,
                "max_instances": e.max_instances,
                "per_instance_hour": e.price.usd_per_hour if e.price else None,
                "per_hour_min": e.per_hour(e.min_instances),
                "per_hour_max": e.per_hour(e.max_instances),
                "per_month_min": _times(e.per_hour(e.min_instances), hours),
                "per_month_max": _times(e.per_hour(e.max_instances), hours),
            }
            for e in result.endpoints
        ],
        "preparations": [
            {
                "endpoint": p.endpoint,
                "instance_type": p.instance_type,
                "max_hours": p.max_hours,
                "per_instance_hour": p.price.usd_per_hour if p.price else None,
                "at_most": p.at_most,
            }
            for p in result.preparations
        ],
        "training": [
            {
                "instance_type": t.instance_type,
                "instance_count": t.instance_count,
                "spot": t.spot,
                "per_instance_hour": t.price.usd_per_hour if t.price else None,
                "per_hour": t.per_hour,
            }
            for t in result.training
        ],
        "bedrock": [
            {
                "model_id": b.model_id,
                "per_1k_input_tokens": b.price.input_per_1k_tokens if b.price else None,
                "per_1k_output_tokens": b.price.output_per_1k_tokens if b.price else None,
            }
            for b in result.bedrock
        ],
        "endpoints_per_month_min": result.monthly("min"),
        "endpoints_per_month_max": result.monthly("max"),
    }
    return json.dumps(document, indent=2)
