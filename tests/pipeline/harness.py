"""Runs the synthesized fine-tuning state machine offline in moto's Step Functions interpreter.

Two shims fill what moto 5.2.5 lacks (they touch its internals, which is why moto is pinned):

- Lambda invoke without Docker: an in-process adapter maps each function's ARN to its Python handler and
  runs it with the environment variables the template gives the function;
- ``sagemaker:createTrainingJob.sync``: moto only forwards request-response calls, so a service class
  creates the job, then polls DescribeTrainingJob until it ends, failing the task for Failed or Stopped
  (what Step Functions does), and records each request it sent;
- ``sagemaker:createHyperParameterTuningJob.sync``: moto's tuning jobs are static records (a fixed fake
  BestTrainingJob), so the same class creates the tuning job, then the training jobs SageMaker would start
  for it (``<tuning job>-<nnn>-<id>``, each steered by ``on_created``), and writes into moto's record what
  SageMaker reports once they end: the best job by the objective metric among the completed ones that
  reported it; Completed without a BestTrainingJob when none reported it; Failed with SageMaker's reason
  when none completed. It then polls DescribeHyperParameterTuningJob like the training job.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.sagemaker.models import sagemaker_backends
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils, state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeFailure, CallbackOutcomeFailureError
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

ACCOUNT = "123456789012"
REGION = "us-east-1"
_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


@dataclass
class Resolver:
    """Resolves the intrinsic functions of a template's values into the strings the test account uses."""

    template: dict[str, Any]
    stack_outputs: dict[str, str] = field(default_factory=dict)

    def arn(self, logical_id: str) -> str:
        resource_type = self.template["Resources"][logical_id]["Type"]
        if resource_type == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
        if resource_type == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        raise KeyError(f"no fake ARN for {resource_type} {logical_id}")

    def __call__(self, value: Any) -> Any:  # noqa: PLR0911  (one return per intrinsic function)
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return _PSEUDO.get(value["Ref"], value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            return self.arn(value["Fn::GetAtt"][0])
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self(part)) for part in parts)
        if set(value) == {"Fn::GetStackOutput"}:
            name = value["Fn::GetStackOutput"]["OutputName"]
            return next(v for k, v in self.stack_outputs.items() if k in name)
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            # The pseudo parameters only (what a CDK asset's S3 URL holds: the bootstrap bucket's account and region).
            return re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda match: _PSEUDO[match.group(1)], value["Fn::Sub"])
        return {key: self(item) for key, item in value.items()}


class FakeContext:
    """The parts of a Lambda context Powertools reads."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass(frozen=True)
class InProcessFunction:
    handler: str
    environment: dict[str, str]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def functions_of(template: dict[str, Any], resolve: Resolver, assembly: Path) -> dict[str, InProcessFunction]:
    """Every Lambda function of the template by fake ARN, with its resolved environment and packaged files."""
    functions = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        environment = {k: str(resolve(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        asset = assembly / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
        settings = next(asset.rglob("pipeline.json"), None)
        if settings is not None:
            # The prepare function reads the settings the stack packaged into its asset.
            environment["PIPELINE_SETTINGS_PATH"] = str(settings)
        functions[resolve.arn(logical_id)] = InProcessFunction(handler=props["Handler"], environment=environment)
    return functions


def install_lambda_adapter(functions: dict[str, InProcessFunction], calls: list[tuple[str, Any]]) -> Callable[[], None]:
    """Route moto's Lambda invocations to the handlers in this process; return a function that undoes it."""
    original = lambda_eval_utils._invoke_lambda_function

    def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        function = functions[parameters["FunctionName"]]
        payload = json.loads(parameters.get("Payload") or b"{}")
        module_name, _, attribute = function.handler.rpartition(".")
        calls.append((module_name, payload))
        with _environment(function.environment):
            handler = getattr(importlib.import_module(module_name), attribute)
            try:
                result = handler(payload, FakeContext(module_name))
            except Exception as error:  # noqa: BLE001  (Lambda reports any exception as a function error)
                body = {"errorType": type(error).__name__, "errorMessage": str(error), "trace": traceback.format_exc()}
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": body}
        return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}

    lambda_eval_utils._invoke_lambda_function = invoke
    return lambda: setattr(lambda_eval_utils, "_invoke_lambda_function", original)


# What SageMaker gives as a tuning job's FailureReason when no training job succeeded (notes: training-neuron.md).
NO_JOB_SUCCEEDED = "No training job succeeded after 5 attempts. Please take a look at the training job failures."


class SageMakerSync(StateTaskServiceCallback):
    """``arn:aws:states:::sagemaker:createTrainingJob.sync`` and ``createHyperParameterTuningJob.sync``: create,
    then poll the Describe call."""

    requests: list[dict[str, Any]] = []  # noqa: RUF012  (shared record of what the interpreter sent)
    on_created: Callable[[str], None] | None = None
    # How many training jobs a tuning job runs here (at most its MaxNumberOfTrainingJobs).
    tuning_jobs: int = 2

    def __init__(self) -> None:
        super().__init__(
            supported_integration_patterns={ResourceCondition.WaitForTaskToken, ResourceCondition.Sync}  # type: ignore[arg-type]
        )

    def _validate_service_integration_is_supported(self) -> None:
        return None

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        SageMakerSync.requests.append(json.loads(json.dumps(normalised_parameters)))
        sagemaker = boto_client_for(
            service="sagemaker", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        if self._tuning:
            response = sagemaker.create_hyper_parameter_tuning_job(**normalised_parameters)
            response.pop("ResponseMetadata", None)
            _run_tuning_job(sagemaker, normalised_parameters, SageMakerSync.tuning_jobs, SageMakerSync.on_created)
            env.stack.append(response)
            return
        response = sagemaker.create_training_job(**normalised_parameters)
        response.pop("ResponseMetadata", None)
        if SageMakerSync.on_created is not None:
            SageMakerSync.on_created(normalised_parameters["TrainingJobName"])
        env.stack.append(response)

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        # A job that ends Failed or Stopped fails the task with States.TaskFailed and the job as the cause.
        if isinstance(ex, CallbackOutcomeFailureError):
            failure = ex.callback_outcome_failure
            return FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]
                    taskFailedEventDetails=TaskFailedEventDetails(
                        resourceType=self._get_sfn_resource_type(),
                        resource=self._get_sfn_resource(),
                        error=StatesErrorNameType.StatesTaskFailed.to_name(),
                        cause=failure.cause,
                    )
                ),
            )
        return super()._from_error(env=env, ex=ex)

    def _build_sync_resolver(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Callable[[], Any]:
        sagemaker = boto_client_for(
            service="sagemaker", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        tuning = self._tuning
        name = normalised_parameters["HyperParameterTuningJobName" if tuning else "TrainingJobName"]
        callback_id = env.states.context_object.context_object_data["Task"]["Token"]

        def resolve() -> Any:
            described = (
                sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
                if tuning
                else sagemaker.describe_training_job(TrainingJobName=name)
            )
            job = json.loads(json.dumps(described, default=str))
            job.pop("ResponseMetadata", None)
            status = job["HyperParameterTuningJobStatus" if tuning else "TrainingJobStatus"]
            if status == "Completed":
                return job
            if status in ("Failed", "Stopped"):
                failure = CallbackOutcomeFailure(
                    callback_id=callback_id, error="States.TaskFailed", cause=json.dumps(job)
                )
                raise CallbackOutcomeFailureError(callback_outcome_failure=failure)
            return None

        return resolve

    @property
    def _tuning(self) -> bool:
        return bool(self.resource.api_action == "createHyperParameterTuningJob")


def _run_tuning_job(
    sagemaker: Any, request: dict[str, Any], count: int, on_created: Callable[[str], None] | None
) -> None:
    """Start ``count`` training jobs of the tuning job as SageMaker would (each at the low end of every numeric
    range), let ``on_created`` steer each, then record in moto's tuning job how SageMaker ends it."""
    name = request["HyperParameterTuningJobName"]
    config = request["HyperParameterTuningJobConfig"]
    definition = request["TrainingJobDefinition"]
    objective = config["HyperParameterTuningJobObjective"]
    ranges = config.get("ParameterRanges", {})
    tuned = {r["Name"]: r.get("MinValue") or r["Values"][0] for kind in ranges.values() for r in kind}
    backend = sagemaker_backends[ACCOUNT][REGION]
    summaries = []
    for number in range(1, min(count, config["ResourceLimits"]["MaxNumberOfTrainingJobs"]) + 1):
        job_name = f"{name}-{number:03d}-{number:08x}"
        fields = {k: v for k, v in definition.items() if k not in ("StaticHyperParameters", "DefinitionName")}
        hyperparameters = {**definition.get("StaticHyperParameters", {}), **tuned}
        sagemaker.create_training_job(TrainingJobName=job_name, HyperParameters=hyperparameters, **fields)
        if on_created is not None:
            on_created(job_name)
        job = backend.training_jobs[job_name]
        metric: float | None = next(
            (
                float(m["Value"])  # type: ignore[arg-type]
                for m in job.final_metric_data_list or []
                if m["MetricName"] == objective["MetricName"]
            ),
            None,
        )
        summaries.append((job, metric))
    record = backend.hyper_parameter_tuning_jobs[name]
    completed = [(job, metric) for job, metric in summaries if job.training_job_status == "Completed"]
    scored: list[tuple[Any, float]] = [(job, metric) for job, metric in completed if metric is not None]
    record.training_job_status_counters = {
        "Completed": len(completed),
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": len(summaries) - len(completed),
        "Stopped": 0,
    }
    record.hyper_parameter_tuning_job_status = "Completed" if completed else "Failed"
    record.failure_reason = "" if completed else NO_JOB_SUCCEEDED
    # moto's record holds a fixed fake best job: none here unless a job reported the objective metric.
    record.best_training_job = None  # type: ignore[assignment]
    record.OverallBestTrainingJob = None  # type: ignore[assignment]
    if scored:
        job, metric = (min if objective["Type"] == "Minimize" else max)(scored, key=lambda pair: pair[1])
        record.best_training_job = {
            "TrainingJobName": job.training_job_name,
            "TrainingJobArn": job.arn,
            "TuningJobName": name,
            "CreationTime": job.creation_time,
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": tuned,
            "FinalHyperParameterTuningJobObjectiveMetric": {**objective, "Value": metric},
            "ObjectiveStatus": "Succeeded",
        }


def install_sagemaker_sync() -> Callable[[], None]:
    """Let the interpreter run ``sagemaker:*.sync`` tasks through :class:`SageMakerSync`."""
    original = state_task_factory.state_task_service_for  # type: ignore[attr-defined]

    def service_for(service_name: str) -> Any:
        return SageMakerSync() if service_name == "sagemaker" else original(service_name)

    state_task_factory.state_task_service_for = service_for  # type: ignore[attr-defined]
    return lambda: setattr(state_task_factory, "state_task_service_for", original)


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll DescribeExecution until the execution leaves RUNNING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return dict(description)
        time.sleep(0.02)
    raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
