"""The ``cost`` command's report of a ``CostEstimate``: a table per kind of cost, the monthly total, the source and
date of every price used, and for each missing one the query or page that gives it (text or JSON).
"""

from __future__ import annotations

import json

from genai_kit.cli.cost import CostEstimate, EndpointCost
from genai_kit.cli.table import render_table
from genai_kit.pricing import foundation_model_of

NO_PRICE = "no published figure in the table"
# Where a missing SageMaker figure comes from: the AWS Price List Query API, read by the refresh command (which
# needs credentials allowed pricing:GetProducts and adds the figure, keeping every other). Bedrock: its page.
SAGEMAKER_PRICE_REFRESH = "python -m genai_kit.pricing.refresh --region {region} --instance-type {instance_type}"
BEDROCK_PRICE_REFRESH = "python -m genai_kit.pricing.refresh --region {region} --bedrock-model {model_id}"


def _usd(value: float | None, digits: int = 2) -> str:
    return NO_PRICE if value is None else f"${value:,.{digits}f}"


def _range(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return NO_PRICE
    return _usd(low, digits) if low == high else f"{_usd(low, digits)} - {_usd(high, digits)}"


def render_text(result: CostEstimate) -> str:
    """A table per kind of cost (endpoints, model preparation, training, tuning, Bedrock tokens, Bedrock images),
    then the monthly total and what the figures leave out."""
    sections = [f"Estimated on-demand cost of stage '{result.stage}' in {result.region}"]
    if result.endpoints:
        sections.append(_endpoints_table(result))
    if any(e.schedule is not None for e in result.endpoints):
        sections.append(_schedules_table(result))
    if result.finetuned is not None:
        sections.append(_finetuned_table(result, result.finetuned))
    if result.preparations:
        sections.append(_preparations_table(result))
    if result.training:
        sections.append(_training_table(result))
    if result.tuning:
        sections.append(_tuning_table(result))
    if result.bedrock:
        sections.append(_bedrock_table(result))
    if result.bedrock_images:
        sections.append(_bedrock_images_table(result))
    unpriced = sorted({e.instance_type for e in result.endpoints if e.price is None})
    total = f"Endpoints per month: {_range(result.monthly('min'), result.monthly('max'))}"
    if unpriced and result.monthly("min") is not None:
        total += f" (not counting {', '.join(unpriced)}: {NO_PRICE})"
    elif unpriced:
        total += f" ({', '.join(unpriced)})"
    sections.append(
        f"{total}\nPrices as of {result.table.as_of} ({result.table.currency}, model_artifacts/pricing/prices.json): "
        "on-demand list prices without storage, data transfer, logs, savings plans or taxes."
    )
    sources = _sources(result)
    if sources:
        sections.append("Sources:\n" + "\n".join(sources))
    missing = _how_to_price_what_is_missing(result)
    if missing:
        sections.append(
            "Not in the table (the command shown reads it from the AWS Price List with credentials allowed "
            "pricing:GetProducts; or add it by hand with its source and date to model_artifacts/pricing/prices.json):\n"
            + "\n".join(missing)
        )
    return "\n\n".join(sections)


def _sources(result: CostEstimate) -> list[str]:
    """One line per price the estimate used: what, where, from which source, read when."""
    lines: dict[str, str] = {}
    for kind, price in [
        *(("hosting", e.price) for e in result.endpoints),
        *(("training", p.price) for p in result.preparations),
        *(("training", t.price) for t in result.training),
        *(("training", t.price) for t in result.tuning),
    ]:
        if price is not None:
            lines.setdefault(
                f"{kind} {price.instance_type}",
                f"- {kind} {price.instance_type} in {price.region}: "
                f"${price.usd_per_hour}/h, {price.source} (read {price.retrieved})",
            )
    for model in result.bedrock:
        if model.price is not None:
            lines.setdefault(
                model.price.model_id,
                f"- tokens of {model.price.model_id} in {model.price.region}: "
                f"{model.price.source} (read {model.price.retrieved})",
            )
    for image_model in result.bedrock_images:
        for image_price in image_model.prices:
            lines.setdefault(
                f"images {image_price.model_id} {image_price.quality} {image_price.size_class}",
                f"- images of {image_price.model_id} ({image_price.quality}, {image_price.size_class}) in "
                f"{image_price.region}: ${image_price.usd_per_image}/image, {image_price.source} "
                f"(read {image_price.retrieved})",
            )
    return list(lines.values())


def _how_to_price_what_is_missing(result: CostEstimate) -> list[str]:
    """One line per unpriced item with the query or page that gives its figure."""
    missing = sorted(
        {("Hosting", e.instance_type) for e in result.endpoints if e.price is None}
        | {("Training", p.instance_type) for p in result.preparations if p.price is None}
        | {("Training", t.instance_type) for t in result.training if t.price is None}
        | {("Training", t.instance_type) for t in result.tuning if t.price is None}
    )
    lines = [
        f"- {component.lower()} {instance_type}: "
        + SAGEMAKER_PRICE_REFRESH.format(region=result.region, instance_type=instance_type)
        for component, instance_type in missing
    ]
    # A model the table knows the price-list name of can be read with the refresh; any other from the pricing page.
    named = {entry.model_id for entry in result.table.bedrock_price_list_names}
    lines += [
        f"- tokens of {model.model_id}: "
        + (
            BEDROCK_PRICE_REFRESH.format(region=result.region, model_id=foundation_model_of(model.model_id))
            if foundation_model_of(model.model_id) in named
            else f"https://aws.amazon.com/bedrock/pricing/ ({result.region})"
        )
        for model in result.bedrock
        if model.price is None
    ]
    lines += [
        f"- images of {image_model.model_id}: https://aws.amazon.com/bedrock/pricing/ ({result.region})"
        for image_model in result.bedrock_images
        if not image_model.prices
    ]
    return lines


def _endpoints_table(result: CostEstimate) -> str:
    hours = result.table.hours_per_month
    rows = [
        [
            endpoint.name + (" (scheduled)" if endpoint.schedule is not None else ""),
            endpoint.instance_type,
            f"{endpoint.min_instances}-{endpoint.max_instances}",
            _usd(endpoint.price.usd_per_hour if endpoint.price else None, 4),
            _range(endpoint.per_hour(endpoint.min_instances), endpoint.per_hour(endpoint.max_instances)),
            _range(
                endpoint.per_month(endpoint.min_instances, hours), endpoint.per_month(endpoint.max_instances, hours)
            ),
        ]
        for endpoint in result.endpoints
    ]
    headers = ["ENDPOINT", "INSTANCE TYPE", "INSTANCES", "PER INSTANCE-HOUR", "PER HOUR", "PER MONTH"]
    title = (
        f"Endpoints (from the synthesized templates; a month is {hours} h always on, or a scheduled endpoint's "
        "window's share of them)"
    )
    return f"{title}\n" + render_table(headers, rows)


def _finetuned_table(result: CostEstimate, endpoint: EndpointCost) -> str:
    """The fine-tuned endpoint: created by the first approval, so apart from the synthesized endpoints' total."""
    hours = result.table.hours_per_month
    row = [
        endpoint.name,
        endpoint.instance_type,
        str(endpoint.min_instances),
        _usd(endpoint.price.usd_per_hour if endpoint.price else None, 4),
        _usd(endpoint.per_hour(endpoint.min_instances)),
        _usd(endpoint.per_month(endpoint.min_instances, hours)),
    ]
    headers = ["ENDPOINT", "INSTANCE TYPE", "INSTANCES", "PER INSTANCE-HOUR", "PER HOUR", "PER MONTH"]
    title = "Fine-tuned endpoint (from the first approval of a fine-tuned version on; not in the endpoints' total)"
    return f"{title}\n" + render_table(headers, [row])


def _schedules_table(result: CostEstimate) -> str:
    """Each scheduled endpoint's window, and its cost per month at its minimum instances: running only in the
    window, always on, and the difference (deleted outside the window, it has no instance charges then)."""
    hours = result.table.hours_per_month
    rows = []
    for endpoint in result.endpoints:
        schedule = endpoint.schedule
        if schedule is None:
            continue
        scheduled = endpoint.per_month(endpoint.min_instances, hours)
        always_on = endpoint.per_month(endpoint.min_instances, hours, always_on=True)
        saving = None if scheduled is None or always_on is None else always_on - scheduled
        rows.append(
            [
                endpoint.name,
                f"{','.join(schedule.days)} {schedule.start}-{schedule.stop} {schedule.time_zone}",
                f"{schedule.weekly_hours():g} of 168",
                _usd(scheduled),
                _usd(always_on),
                _usd(saving),
            ]
        )
    headers = ["ENDPOINT", "WINDOW", "HOURS PER WEEK", "PER MONTH", "ALWAYS ON", "SAVED"]
    return (
        "Scheduled endpoints (deleted outside the window: no instance charges; at their minimum instances)\n"
        + render_table(headers, rows)
    )


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
        "Model preparation (a training job: an endpoint's once per model, revision and serving settings, reused after;"
        " the fine-tuned model's once per accepted run)\n"
        + render_table(["ENDPOINT", "INSTANCE TYPE", "PER INSTANCE-HOUR", "LONGEST RUN (H)", "AT MOST"], rows)
    )


def _training_table(result: CostEstimate) -> str:
    rows = [
        [
            t.instance_type + (" (spot)" if t.spot else ""),
            str(t.instance_count),
            _usd(t.price.usd_per_hour if t.price else None, 4),
            _usd(t.per_hour),
            "unknown" if t.max_hours is None else f"{t.max_hours:g}",
            _usd(t.at_most_per_run),
        ]
        for t in result.training
    ]
    note = " (spot is billed below these on-demand prices)" if any(t.spot for t in result.training) else ""
    return f"Training (while a job runs, at most its time limit per run{note})\n" + render_table(
        ["INSTANCE TYPE", "COUNT", "PER INSTANCE-HOUR", "PER HOUR", "TIME LIMIT (H)", "AT MOST PER RUN"], rows
    )


def _tuning_table(result: CostEstimate) -> str:
    rows = [
        [
            t.instance_type,
            str(t.instance_count),
            str(t.max_jobs),
            _usd(t.price.usd_per_hour if t.price else None, 4),
            "unknown" if t.instance_hours is None else f"{t.instance_hours:g}",
            _usd(t.at_most_per_run),
        ]
        for t in result.tuning
    ]
    return "Tuning (training.tuning: at most max jobs x instances x time limit per run)\n" + render_table(
        ["INSTANCE TYPE", "COUNT", "MAX JOBS", "PER INSTANCE-HOUR", "INSTANCE-HOURS AT MOST", "AT MOST PER RUN"], rows
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


def _bedrock_images_table(result: CostEstimate) -> str:
    rows = []
    for image_model in result.bedrock_images:
        rows += [
            [image_model.model_id, price.quality, price.size_class, _usd(price.usd_per_image, 4)]
            for price in image_model.prices
        ] or [[image_model.model_id, "-", "-", NO_PRICE]]
    return "Bedrock images (per generated image, by quality and size class)\n" + render_table(
        ["MODEL", "QUALITY", "SIZE", "PER IMAGE"], rows
    )


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
                "per_month_min": e.per_month(e.min_instances, hours),
                "per_month_max": e.per_month(e.max_instances, hours),
                "schedule": e.schedule.model_dump(mode="json") if e.schedule is not None else None,
                "hours_per_week": e.schedule.weekly_hours() if e.schedule is not None else None,
                "always_on_per_month_min": e.per_month(e.min_instances, hours, always_on=True),
            }
            for e in result.endpoints
        ],
        "finetuned_endpoint": (
            None
            if result.finetuned is None
            else {
                "name": result.finetuned.name,
                "instance_type": result.finetuned.instance_type,
                "instances": result.finetuned.min_instances,
                "per_instance_hour": result.finetuned.price.usd_per_hour if result.finetuned.price else None,
                "per_month": result.finetuned.per_month(result.finetuned.min_instances, hours),
            }
        ),
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
                "time_limit_hours": t.max_hours,
                "at_most_per_run": t.at_most_per_run,
            }
            for t in result.training
        ],
        "tuning": [
            {
                "instance_type": t.instance_type,
                "instance_count": t.instance_count,
                "max_jobs": t.max_jobs,
                "per_instance_hour": t.price.usd_per_hour if t.price else None,
                "instance_hours_at_most": t.instance_hours,
                "at_most_per_run": t.at_most_per_run,
            }
            for t in result.tuning
        ],
        "bedrock": [
            {
                "model_id": b.model_id,
                "per_1k_input_tokens": b.price.input_per_1k_tokens if b.price else None,
                "per_1k_output_tokens": b.price.output_per_1k_tokens if b.price else None,
            }
            for b in result.bedrock
        ],
        "bedrock_images": [
            {
                "model_id": i.model_id,
                "per_image": [
                    {"quality": p.quality, "size_class": p.size_class, "usd": p.usd_per_image} for p in i.prices
                ]
                or None,
            }
            for i in result.bedrock_images
        ],
        "endpoints_per_month_min": result.monthly("min"),
        "endpoints_per_month_max": result.monthly("max"),
    }
    return json.dumps(document, indent=2)
