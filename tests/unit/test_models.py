"""Unit tests of the models and the wire converter (``batch_tasks_async._serialization``)."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_tasks_async import models
from batch_tasks_async._serialization import (
    dumps,
    format_datetime,
    format_duration,
    format_http_date,
    from_wire,
    loads,
    parse_datetime,
    parse_duration,
    parse_task_add_results,
    python_key_error,
    to_wire,
)
from batch_tasks_async.errors import ClientValidationError

TICKS = "2016-09-06T06:59:15.1161429Z"
TIMESPAN_MAX = "P10675199DT2H48M5.4775807S"


def _listed_task() -> dict[str, Any]:
    """A task as the service lists it (2024-07-01.20.0), odata annotation included."""
    return {
        "odata.metadata": "https://acct.region.batch.azure.com/$metadata#tasks/@Element",
        "id": "task-1",
        "url": "https://acct.region.batch.azure.com/jobs/job-1/tasks/task-1",
        "eTag": "0x8D3D62350711C55",
        "creationTime": TICKS,
        "lastModified": TICKS,
        "state": "completed",
        "stateTransitionTime": "2016-09-06T07:00:00Z",
        "previousState": "running",
        "commandLine": "cmd /c hostname",
        "outputFiles": [
            {
                "filePattern": "*.txt",
                "destination": {
                    "container": {
                        "containerUrl": "https://st.blob.core.windows.net/out?sv=1&sig=SECRET",
                        "uploadHeaders": [{"name": "x-ms-blob-type", "value": "BlockBlob"}],
                    }
                },
                "uploadOptions": {"uploadCondition": "TaskCompletion"},
            }
        ],
        "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
        "constraints": {
            "maxWallClockTime": TIMESPAN_MAX,
            "retentionTime": "P7D",
            "maxTaskRetryCount": 0,
        },
        "requiredSlots": 1,
        "executionInfo": {
            "startTime": TICKS,
            "endTime": TICKS,
            "exitCode": 0,
            "result": "success",
            "retryCount": 0,
            "requeueCount": 0,
        },
        "nodeInfo": {"affinityId": "TVM:1", "poolId": "pool", "nodeId": "tvm-1"},
        "stats": {
            "url": "https://acct/jobs/job-1/tasks/task-1",
            "startTime": TICKS,
            "lastUpdateTime": TICKS,
            "userCPUTime": "PT0.015625S",
            "kernelCPUTime": "PT0S",
            "wallClockTime": "PT1.2345678S",
            "readIOps": "12",  # OData v3 writes Edm.Int64 as a string
            "writeIOps": "3",
            "readIOGiB": 0.5,
            "writeIOGiB": 0.25,
            "waitTime": "PT0.1S",
        },
        "dependsOn": {"taskIds": ["a", "b"], "taskIdRanges": [{"start": 1, "end": 9}]},
    }


# ---------------------------------------------------------------------------------------------
# Construction and the wire dict
# ---------------------------------------------------------------------------------------------


def test_required_properties_are_required_keyword_arguments() -> None:
    with pytest.raises(ClientValidationError, match=r"TaskAddParameter\.command_line: is required"):
        models.TaskAddParameter(id="t")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        models.TaskAddParameter("t", "echo")  # type: ignore[call-arg]
    task = models.TaskAddParameter(id="t", command_line="echo")
    assert task.display_name is None
    assert task.additional_properties == {}


def test_to_dict_uses_camel_case_and_omits_unset_properties() -> None:
    task = models.TaskAddParameter(
        id="t1",
        command_line="/bin/sh -c 'echo hi'",
        resource_files=[models.ResourceFile(http_url="https://x/y", file_path="y")],
        environment_settings=[models.EnvironmentSetting(name="A", value="1")],
        constraints=models.TaskConstraints(max_task_retry_count=3),
        required_slots=2,
        depends_on=models.TaskDependencies(task_id_ranges=[models.TaskIdRange(start=1, end=5)]),
        application_package_references=[models.ApplicationPackageReference(application_id="app")],
        authentication_token_settings=models.AuthenticationTokenSettings(
            access=[models.AccessScope.JOB]
        ),
        user_identity=models.UserIdentity(
            auto_user=models.AutoUserSpecification(
                scope=models.AutoUserScope.TASK, elevation_level=models.ElevationLevel.ADMIN
            )
        ),
    )
    assert task.to_dict() == {
        "id": "t1",
        "commandLine": "/bin/sh -c 'echo hi'",
        "resourceFiles": [{"httpUrl": "https://x/y", "filePath": "y"}],
        "environmentSettings": [{"name": "A", "value": "1"}],
        "constraints": {"maxTaskRetryCount": 3},
        "requiredSlots": 2,
        "dependsOn": {"taskIdRanges": [{"start": 1, "end": 5}]},
        "applicationPackageReferences": [{"applicationId": "app"}],
        "authenticationTokenSettings": {"access": ["job"]},
        "userIdentity": {"autoUser": {"scope": "task", "elevationLevel": "admin"}},
    }
    # Enum members become plain strings, not str-subclass members.
    auto_user = task.to_dict()["userIdentity"]["autoUser"]
    assert type(auto_user["scope"]) is str


def test_odd_wire_names_come_from_the_spec() -> None:
    task = models.CloudTask.from_dict(_listed_task())
    assert task.e_tag == "0x8D3D62350711C55"
    assert task.stats is not None
    assert task.stats.user_cpu_time == timedelta(microseconds=15625)
    assert task.stats.read_iops == 12
    assert task.stats.read_io_gib == 0.5
    page = models.CloudTaskListResult.from_dict(
        {"value": [], "odata.nextLink": "https://acct/jobs/j/tasks?$skiptoken=abc"}
    )
    assert page.odata_next_link == "https://acct/jobs/j/tasks?$skiptoken=abc"
    assert page.to_dict() == {
        "value": [],
        "odata.nextLink": "https://acct/jobs/j/tasks?$skiptoken=abc",
    }
    registry = models.ContainerRegistry(user_name="me", password="pw", registry_server="r.io")
    assert registry.to_dict() == {"username": "me", "password": "pw", "registryServer": "r.io"}
    assert models.UserIdentity(user_name="bob").to_dict() == {"username": "bob"}


def test_nested_round_trip_rebuilds_equal_models() -> None:
    wire = _listed_task()
    task = models.CloudTask.from_dict(wire)
    assert task.state is models.TaskState.COMPLETED
    assert task.previous_state is models.TaskState.RUNNING
    assert task.execution_info is not None
    assert task.execution_info.result is models.TaskExecutionResult.SUCCESS
    assert task.depends_on == models.TaskDependencies(
        task_ids=["a", "b"], task_id_ranges=[models.TaskIdRange(start=1, end=9)]
    )
    assert task.output_files is not None
    container = task.output_files[0].destination.container
    assert container is not None
    assert container.upload_headers == [models.HttpHeader(name="x-ms-blob-type", value="BlockBlob")]
    again = models.CloudTask.from_dict(task.to_dict())
    assert again == task
    wire["outputFiles"][0]["uploadOptions"]["uploadCondition"] = "taskcompletion"
    assert task.to_dict() == wire


def test_dumps_and_loads() -> None:
    task = models.TaskAddParameter(id="t1", command_line="echo hi")
    assert dumps(task) == b'{"id":"t1","commandLine":"echo hi"}'
    collection = models.TaskAddCollectionParameter(value=[task, task])
    assert loads(dumps(collection)) == {"value": [task.to_dict(), task.to_dict()]}
    # Plain data may hold models, enums, datetimes and durations.
    plain = {
        "value": [task],
        "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "wait": timedelta(hours=1),
        "state": models.TaskState.ACTIVE,
    }
    assert loads(dumps(plain)) == {
        "value": [{"id": "t1", "commandLine": "echo hi"}],
        "when": "2024-01-02T03:04:05Z",
        "wait": "PT1H",
        "state": "active",
    }
    assert loads(b'{"a": [1, null]}') == {"a": [1, None]}
    assert loads('{"a": 1}') == {"a": 1}
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_from_wire_and_to_wire_reject_non_models() -> None:
    with pytest.raises(TypeError, match="model"):
        to_wire({"id": "x"})
    with pytest.raises(TypeError, match="model"):
        from_wire(dict, {})
    with pytest.raises(ClientValidationError, match="CloudTask expects a JSON object"):
        from_wire(models.CloudTask, ["not", "an", "object"])
    with pytest.raises(ClientValidationError, match=r"TaskAddResult\.task_id: .*'taskId'"):
        models.TaskAddResult.from_dict({"status": "success"})  # taskId is required
    with pytest.raises(ClientValidationError, match=r"TaskAddResult\.task_id: .*'taskId'"):
        from_wire(models.TaskAddResult, {"status": "success"})


def test_json_null_means_unset() -> None:
    task = models.CloudTask.from_dict({"id": "t", "displayName": None, "constraints": None})
    assert task.display_name is None
    assert task.constraints is None
    assert task.to_dict() == {"id": "t"}


# ---------------------------------------------------------------------------------------------
# Enums
# ---------------------------------------------------------------------------------------------


def test_enum_wire_values() -> None:
    assert str(models.TaskAddStatus.SUCCESS) == "success"
    assert models.TaskAddStatus.CLIENT_ERROR.value == "clienterror"
    assert models.TaskAddStatus.SERVER_ERROR.value == "servererror"
    assert models.OutputFileUploadCondition.TASK_COMPLETION.value == "taskcompletion"
    assert models.ContainerHostDataPath.VFS_MOUNTS.value == "VfsMounts"
    assert models.ContainerWorkingDirectory.TASK_WORKING_DIRECTORY.value == "taskWorkingDirectory"


@pytest.mark.parametrize(
    ("wire", "member"),
    [
        ("Success", models.TaskAddStatus.SUCCESS),
        ("ClientError", models.TaskAddStatus.CLIENT_ERROR),
        ("SERVERERROR", models.TaskAddStatus.SERVER_ERROR),
        ("servererror", models.TaskAddStatus.SERVER_ERROR),
    ],
)
def test_enum_lookup_is_case_insensitive(wire: str, member: models.TaskAddStatus) -> None:
    assert models.TaskAddStatus(wire) is member
    result = models.TaskAddResult.from_dict({"status": wire, "taskId": "t"})
    assert result.status is member
    assert result.to_dict() == {"status": member.value, "taskId": "t"}


def test_unknown_enum_value_is_kept() -> None:
    result = models.TaskAddResult.from_dict({"status": "Throttled", "taskId": "t"})
    status = result.status
    assert isinstance(status, models.TaskAddStatus)
    assert status == "Throttled"
    assert status.value == "Throttled"
    assert status not in list(models.TaskAddStatus)
    assert status not in models.TaskAddStatus.__members__.values()
    assert result.to_dict() == {"status": "Throttled", "taskId": "t"}
    # The same spelling gives the same pseudo-member again.
    assert models.TaskAddStatus("Throttled") is status
    with pytest.raises(ValueError, match="not a valid"):
        models.TaskAddStatus(3)  # type: ignore[arg-type]


def test_unknown_enum_in_a_list() -> None:
    settings = models.AuthenticationTokenSettings.from_dict({"access": ["Job", "pool"]})
    assert settings.access is not None
    assert settings.access[0] is models.AccessScope.JOB
    assert settings.access[1] == "pool"
    assert settings.to_dict() == {"access": ["job", "pool"]}


# ---------------------------------------------------------------------------------------------
# Forward compatibility
# ---------------------------------------------------------------------------------------------


def test_unknown_properties_round_trip_through_additional_properties() -> None:
    wire = {
        "id": "t",
        "runElevated": True,  # 2015-era property, since removed
        "futureThing": {"nested": [1, 2]},
        "executionInfo": {
            "retryCount": 0,
            "requeueCount": 0,
            "schedulingError": {"category": "usererror", "code": "X"},  # renamed to failureInfo
        },
    }
    task = models.CloudTask.from_dict(wire)
    assert task.additional_properties == {"runElevated": True, "futureThing": {"nested": [1, 2]}}
    assert task.execution_info is not None
    assert task.execution_info.additional_properties == {
        "schedulingError": {"category": "usererror", "code": "X"}
    }
    assert task.to_dict() == wire


def test_additional_properties_are_sent_and_do_not_override_declared_ones() -> None:
    task = models.TaskAddParameter(
        id="t",
        command_line="echo",
        additional_properties={"newServiceFlag": True, "id": "ignored"},
    )
    assert task.to_dict() == {"id": "t", "commandLine": "echo", "newServiceFlag": True}


def test_additional_properties_are_not_part_of_equality() -> None:
    plain = models.CloudTask(id="t")
    annotated = models.CloudTask.from_dict({"id": "t", "odata.metadata": "https://x/$metadata"})
    assert annotated.additional_properties == {"odata.metadata": "https://x/$metadata"}
    assert plain == annotated


def test_odata_annotations_are_tolerated_and_kept() -> None:
    entry = {
        "status": "ClientError",
        "taskId": "t",
        "error@odata.navigationLinkUrl": "https://acct/$metadata#...",
        "error": {
            "odata.metadata": "https://acct/$metadata#errors/@Element",
            "code": "InvalidPropertyValue",
            "message": {"lang": "en-US", "value": "bad"},
            "values": [{"key": "PropertyName", "value": "httpUrl"}],
        },
    }
    result = models.TaskAddResult.from_dict(entry)
    assert result.status is models.TaskAddStatus.CLIENT_ERROR
    assert result.error is not None
    assert result.error.code == "InvalidPropertyValue"
    assert result.error.message == models.ErrorMessage(lang="en-US", value="bad")
    assert result.error.values == [models.BatchErrorDetail(key="PropertyName", value="httpUrl")]
    assert "error@odata.navigationLinkUrl" in result.additional_properties
    assert result.to_dict() == {**entry, "status": "clienterror"}


# ---------------------------------------------------------------------------------------------
# Datetimes
# ---------------------------------------------------------------------------------------------


def test_seven_digit_timestamps_round_trip_exactly() -> None:
    value = parse_datetime(TICKS)
    assert value == datetime(2016, 9, 6, 6, 59, 15, 116142, tzinfo=UTC)
    assert value.tzinfo is not None
    assert format_datetime(value) == TICKS
    assert repr(value).startswith("datetime.datetime(2016, 9, 6")
    result = models.TaskAddResult.from_dict(
        {"status": "success", "taskId": "t", "lastModified": TICKS}
    )
    assert result.to_dict()["lastModified"] == TICKS


def test_derived_datetimes_are_formatted_canonically() -> None:
    value = parse_datetime(TICKS)
    assert format_datetime(value + timedelta(seconds=1)) == "2016-09-06T06:59:16.116142Z"
    assert format_datetime(value.replace(microsecond=0)) == "2016-09-06T06:59:15Z"
    copied = copy.copy(value)
    assert copied == value
    assert format_datetime(copied) == "2016-09-06T06:59:15.116142Z"
    assert pickle.loads(pickle.dumps(value)) == value


def test_user_datetimes_are_formatted_canonically() -> None:
    assert format_datetime(datetime(2024, 5, 1, 12, tzinfo=UTC)) == "2024-05-01T12:00:00Z"
    assert format_datetime(datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)) == (
        "2024-05-01T12:00:00.250000Z"
    )
    plus_two = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2024, 5, 1, 14, tzinfo=plus_two)) == "2024-05-01T12:00:00Z"
    task = models.CloudTask(creation_time=datetime(2024, 5, 1, 14, tzinfo=plus_two))
    assert task.to_dict() == {"creationTime": "2024-05-01T12:00:00Z"}


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2024, 5, 1, 12)
    with pytest.raises(ValueError, match="naive datetime"):
        format_datetime(naive)
    with pytest.raises(ValueError, match="naive datetime"):
        format_http_date(naive)
    with pytest.raises(ValueError, match="naive datetime"):
        models.CloudTask(creation_time=naive).to_dict()


def test_timestamps_without_offset_are_utc_and_bad_ones_fail() -> None:
    value = parse_datetime("2024-05-01T12:00:00")
    assert value.tzinfo is UTC
    assert format_datetime(value) == "2024-05-01T12:00:00"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_datetime("yesterday")


def test_http_dates() -> None:
    assert format_http_date(parse_datetime(TICKS)) == "Tue, 06 Sep 2016 06:59:15 GMT"
    plus_two = timezone(timedelta(hours=2))
    assert format_http_date(datetime(2024, 1, 1, 1, tzinfo=plus_two)) == (
        "Sun, 31 Dec 2023 23:00:00 GMT"
    )


# ---------------------------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            TIMESPAN_MAX,
            timedelta(days=10675199, hours=2, minutes=48, seconds=5, microseconds=477580),
        ),
        ("P7D", timedelta(days=7)),
        ("PT1H", timedelta(hours=1)),
        ("PT0S", timedelta(0)),
        ("PT1.2345678S", timedelta(seconds=1, microseconds=234567)),
        ("P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("-PT30S", timedelta(seconds=-30)),
        ("P2W", timedelta(weeks=2)),
        ("PT1.5H", timedelta(minutes=90)),
    ],
)
def test_wire_durations_parse_and_round_trip_exactly(text: str, value: timedelta) -> None:
    parsed = parse_duration(text)
    assert parsed == value
    assert format_duration(parsed) == text
    assert repr(parsed).startswith("datetime.timedelta(")
    constraints = models.TaskConstraints.from_dict({"maxWallClockTime": text})
    assert constraints.to_dict() == {"maxWallClockTime": text}


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "P1Y", "P1M", "PT1X", "P1DT"])
def test_bad_durations_fail(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(days=7), "P7D"),
        (timedelta(hours=1), "PT1H"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(days=1, seconds=4, microseconds=500000), "P1DT4.5S"),
        (timedelta(microseconds=1), "PT0.000001S"),
        (timedelta(seconds=-30), "-PT30S"),
        (timedelta.max, "P999999999DT23H59M59.999999S"),
        (timedelta.min, "-P999999999D"),
    ],
)
def test_user_durations_are_formatted_canonically(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert models.TaskConstraints(retention_time=value).to_dict() == {"retentionTime": text}


def test_derived_durations_lose_the_wire_text() -> None:
    parsed = parse_duration(TIMESPAN_MAX)
    assert format_duration(parsed - timedelta(0)) == "P10675199DT2H48M5.47758S"
    assert pickle.loads(pickle.dumps(parsed)) == parsed


@given(st.timedeltas(min_value=timedelta.min, max_value=timedelta.max))
def test_duration_format_parse_round_trip(value: timedelta) -> None:
    text = format_duration(value)
    assert parse_duration(text) == value
    assert format_duration(parse_duration(text)) == text


@given(
    st.integers(min_value=0, max_value=10**8),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
    st.text(alphabet="0123456789", min_size=0, max_size=9),
)
def test_dotnet_timespan_text_round_trips(
    days: int, hours: int, minutes: int, seconds: int, fraction: str
) -> None:
    text = f"P{days}DT{hours}H{minutes}M{seconds}" + (f".{fraction}" if fraction else "") + "S"
    parsed = parse_duration(text)
    assert format_duration(parsed) == text
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    assert parsed == timedelta(
        days=days, hours=hours, minutes=minutes, seconds=seconds, microseconds=micros
    )


# ---------------------------------------------------------------------------------------------
# repr
# ---------------------------------------------------------------------------------------------


def test_repr_hides_registry_password() -> None:
    registry = models.ContainerRegistry(user_name="me", password="hunter2", registry_server="r")
    text = repr(registry)
    assert "hunter2" not in text
    assert "password" not in text
    assert "user_name='me'" in text
    settings = models.TaskContainerSettings(image_name="ubuntu", registry=registry)
    assert "hunter2" not in repr(settings)
    assert registry.to_dict()["password"] == "hunter2"


def test_repr_redacts_sas_signatures() -> None:
    task = models.CloudTask.from_dict(_listed_task())
    text = repr(task)
    assert "SECRET" not in text
    assert "sig=REDACTED" in text
    resource = models.ResourceFile(http_url="https://st/c/b?sv=2020&sig=abc%3D&se=1")
    assert repr(resource).count("abc") == 0
    assert "se=1" in repr(resource)
    assert "http_url=None" in repr(models.ResourceFile())


# ---------------------------------------------------------------------------------------------
# Completeness of the generated models
# ---------------------------------------------------------------------------------------------


def test_every_model_has_additional_properties_and_is_slotted() -> None:
    model_classes = [
        getattr(models, name) for name in models.__all__ if attrs.has(getattr(models, name))
    ]
    assert len(model_classes) >= 40
    for cls in model_classes:
        fields = attrs.fields_dict(cls)
        assert "additional_properties" in fields, cls
        assert "__slots__" in cls.__dict__, cls
        assert cls.__doc__, cls
        assert all(field.kw_only for field in fields.values()), cls


def test_requested_types_exist() -> None:
    for name in [
        "TaskAddParameter", "CloudTask", "TaskAddCollectionParameter", "TaskAddResult",
        "TaskAddCollectionResult", "TaskAddStatus", "TaskUpdateParameter", "SubtaskInformation",
        "CloudTaskListResult", "CloudTaskListSubtasksResult", "BatchError", "ErrorMessage",
        "BatchErrorDetail", "EnvironmentSetting", "ExitConditions", "ExitCodeMapping",
        "ExitCodeRangeMapping", "ExitOptions", "TaskContainerSettings", "ContainerRegistry",
        "ComputeNodeIdentityReference", "ResourceFile", "OutputFile", "OutputFileDestination",
        "OutputFileBlobContainerDestination", "OutputFileUploadOptions", "HttpHeader",
        "AffinityInformation", "TaskConstraints", "UserIdentity", "AutoUserSpecification",
        "TaskExecutionInformation", "TaskContainerExecutionInformation", "TaskFailureInformation",
        "NameValuePair", "ComputeNodeInformation", "MultiInstanceSettings", "TaskStatistics",
        "TaskDependencies", "TaskIdRange", "ApplicationPackageReference",
        "AuthenticationTokenSettings", "ContainerHostBatchBindMountEntry", "TaskCounts",
        "TaskSlotCounts", "TaskCountsResult", "TaskState", "SubtaskState", "ErrorCategory",
        "TaskExecutionResult", "ElevationLevel", "AutoUserScope", "JobAction", "DependencyAction",
        "OutputFileUploadCondition", "ContainerWorkingDirectory", "ContainerHostDataPath",
        "AccessScope",
    ]:  # fmt: skip
        assert name in models.__all__, name


def test_orjson_output_is_compact_json() -> None:
    result = models.TaskAddCollectionResult(
        value=[models.TaskAddResult(status=models.TaskAddStatus.SUCCESS, task_id="a")]
    )
    assert orjson.loads(dumps(result)) == {"value": [{"status": "success", "taskId": "a"}]}


def test_int64_counters_read_from_strings_or_numbers_and_write_strings() -> None:
    base = {
        "url": "https://acct/jobs/j/tasks/t",
        "startTime": "2020-01-01T00:00:00Z",
        "lastUpdateTime": "2020-01-01T00:00:00Z",
        "userCPUTime": "PT0S",
        "kernelCPUTime": "PT0S",
        "wallClockTime": "PT0S",
        "readIOGiB": 0.0,
        "writeIOGiB": 0.0,
        "waitTime": "PT0S",
    }
    stats = models.TaskStatistics.from_dict(
        {**base, "readIOps": "9007199254740993", "writeIOps": 3}
    )
    assert stats.read_iops == 9007199254740993
    assert stats.write_iops == 3
    wire = stats.to_dict()
    assert (wire["readIOps"], wire["writeIOps"]) == ("9007199254740993", "3")
    with pytest.raises(ClientValidationError, match=r"TaskStatistics\.read_iops: .*int64"):
        models.TaskStatistics.from_dict({**base, "readIOps": [1], "writeIOps": 0})


# ---------------------------------------------------------------------------------------------
# Validation where the user builds a model
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"id": 5, "command_line": "x"}, r"TaskAddParameter\.id: expected str, got int"),
        ({"id": "t", "command_line": None}, r"TaskAddParameter\.command_line: .*cannot be None"),
        ({"id": "t", "command_line": b"x"}, r"TaskAddParameter\.command_line: .*got bytes"),
        ({"id": "t", "command_line": "x", "required_slots": True}, r"required_slots: .*bool"),
        ({"id": "t", "command_line": "x", "required_slots": 1.5}, r"required_slots: .*float"),
        ({"id": "t", "command_line": "x", "constraints": 3}, r"constraints: expected Task"),
        ({"id": "t", "command_line": "x", "resource_files": "f"}, r"resource_files: .*a list"),
        ({"id": "t", "command_line": "x", "environment_settings": [5]}, r"settings\[\]: "),
        ({"id": "t", "command_line": "x", "additional_properties": [1]}, r"additional_prop"),
    ],
)
def test_wrong_types_are_refused_naming_the_class_and_field(
    kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ClientValidationError, match=match):
        models.TaskAddParameter(**kwargs)


def test_secret_values_are_not_echoed_in_type_errors() -> None:
    with pytest.raises(ClientValidationError) as caught:
        models.ContainerRegistry(password=b"hunter2")  # type: ignore[arg-type]
    assert "hunter2" not in str(caught.value)
    assert "ContainerRegistry.password" in str(caught.value)


def test_durations_accept_timedelta_or_iso_text() -> None:
    constraints = models.TaskConstraints(max_wall_clock_time="PT1H", retention_time=timedelta(7))
    assert constraints.max_wall_clock_time == timedelta(hours=1)
    assert type(constraints.retention_time) is timedelta
    assert constraints.to_dict() == {"maxWallClockTime": "PT1H", "retentionTime": "P7D"}
    with pytest.raises(ClientValidationError, match=r"TaskConstraints\.retention_time: .*'soon'"):
        models.TaskConstraints(retention_time="soon")
    with pytest.raises(ClientValidationError, match=r"max_wall_clock_time: expected a timedelta"):
        models.TaskConstraints(max_wall_clock_time=3600)  # type: ignore[arg-type]


def test_assignments_to_duration_and_datetime_fields_are_checked() -> None:
    constraints = models.TaskConstraints()
    constraints.max_wall_clock_time = "PT2H"  # type: ignore[assignment]
    assert constraints.max_wall_clock_time == timedelta(hours=2)
    with pytest.raises(ClientValidationError, match="max_wall_clock_time"):
        constraints.max_wall_clock_time = 5  # type: ignore[assignment]
    info = models.TaskExecutionInformation()
    with pytest.raises(ClientValidationError, match="naive"):
        info.start_time = datetime(2024, 1, 1)
    info.start_time = datetime(2024, 1, 1, tzinfo=UTC)
    assert info.to_dict() == {"startTime": "2024-01-01T00:00:00Z"}


def test_naive_datetimes_are_refused_at_construction() -> None:
    with pytest.raises(ClientValidationError, match=r"TaskExecutionInformation\.end_time: .*naive"):
        models.TaskExecutionInformation(end_time=datetime(2024, 1, 1))


def test_mappings_are_accepted_where_a_model_is_expected_as_wire_json() -> None:
    task = models.TaskAddParameter(
        id="t",
        command_line="x",
        constraints={"maxWallClockTime": "PT1H", "maxTaskRetryCount": 2},  # type: ignore[arg-type]
        resource_files=[{"httpUrl": "https://x/y", "filePath": "y"}],  # type: ignore[list-item]
        user_identity={"autoUser": {"scope": "Task"}},  # type: ignore[arg-type]
    )
    assert task.constraints == models.TaskConstraints(
        max_wall_clock_time=timedelta(hours=1), max_task_retry_count=2
    )
    assert task.resource_files == [models.ResourceFile(http_url="https://x/y", file_path="y")]
    assert task.user_identity is not None
    assert task.user_identity.auto_user is not None
    assert task.user_identity.auto_user.scope is models.AutoUserScope.TASK
    from_tuple = models.TaskAddParameter(
        id="t",
        command_line="x",
        resource_files=(),  # type: ignore[arg-type]
    )
    assert from_tuple.resource_files == []


def test_mappings_with_python_attribute_names_are_refused_naming_the_wire_name() -> None:
    with pytest.raises(ClientValidationError, match=r"'max_wall_clock_time'.*'maxWallClockTime'"):
        models.TaskUpdateParameter(constraints={"max_wall_clock_time": "PT1H"})  # type: ignore[arg-type]
    with pytest.raises(ClientValidationError, match=r"'command_line'.*'commandLine'"):
        models.TaskAddParameter.from_dict({"id": "a", "command_line": "x"})
    # The check the bulk engine can run on dict tasks, which it sends as they are.
    error = python_key_error(models.TaskAddParameter, {"id": "a", "command_line": "x"})
    assert error is not None
    assert "'commandLine'" in str(error)
    assert python_key_error(models.TaskAddParameter, {"id": "a", "commandLine": "x"}) is None
    # A key that is its own wire name is fine, and unknown keys are kept as extra properties.
    kept = models.TaskAddParameter.from_dict({"id": "a", "commandLine": "x", "newThing": 1})
    assert kept.additional_properties == {"newThing": 1}


def test_from_dict_checks_like_the_constructor_and_names_the_missing_field() -> None:
    with pytest.raises(
        ClientValidationError, match=r"TaskAddParameter\.command_line: .*'commandLine'"
    ):
        models.TaskAddParameter.from_dict({"id": "a"})
    with pytest.raises(ClientValidationError, match=r"EnvironmentSetting\.name: .*'name'"):
        models.TaskAddParameter.from_dict(
            {"id": "a", "commandLine": "x", "environmentSettings": [{"value": "1"}]}
        )
    with pytest.raises(ClientValidationError, match=r"TaskAddParameter\.id: expected str"):
        models.TaskAddParameter.from_dict({"id": 5, "commandLine": "x"})
    with pytest.raises(ClientValidationError, match="expects a mapping"):
        models.TaskAddParameter.from_dict(["id"])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Reading the service's JSON
# ---------------------------------------------------------------------------------------------


def test_response_sub_objects_may_lack_properties_the_spec_calls_required() -> None:
    body = {
        "id": "t",
        "executionInfo": {"requeueCount": 0, "failureInfo": {"code": "X"}},
        "stats": {"url": "https://acct/jobs/j/tasks/t", "readIOps": "1"},
    }
    task = from_wire(models.CloudTask, body)
    assert task.execution_info is not None
    assert task.execution_info.retry_count is None
    assert task.execution_info.failure_info is not None
    assert task.execution_info.failure_info.category is None
    assert task.stats is not None
    assert task.stats.start_time is None
    assert task.to_dict() == body
    assert models.CloudTask.from_dict(body).to_dict() == body


def test_a_reply_missing_a_required_property_raises_a_typed_error() -> None:
    with pytest.raises(ClientValidationError, match=r"TaskAddResult\.status: .*'status'"):
        from_wire(models.TaskAddResult, {"taskId": "t"})
    # Nested objects are converted when first read, but checked when the reply is structured.
    with pytest.raises(ClientValidationError, match=r"TaskContainerSettings\.image_name"):
        from_wire(models.CloudTask, {"id": "t", "containerSettings": {"registry": {}}})
    with pytest.raises(ClientValidationError, match=r"ExitCodeMapping\.exit_options"):
        from_wire(models.CloudTask, {"exitConditions": {"exitCodes": [{"code": 1}]}})


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"constraints": "x"}, r"CloudTask\.constraints: .*str"),
        ({"constraints": {"retentionTime": 7}}, r"TaskConstraints\.retention_time: .*int"),
        ({"constraints": {"retentionTime": "7d"}}, r"retention_time: '7d' is not"),
        ({"resourceFiles": {}}, r"CloudTask\.resource_files: .*dict"),
        ({"resourceFiles": ["x"]}, r"ResourceFile expects a JSON object"),
        ({"resourceFiles": [{"filePath": 5}]}, r"ResourceFile\.file_path: .*int"),
        ({"creationTime": "yesterday"}, r"creation_time: 'yesterday' is not"),
        ({"creationTime": 5}, r"creation_time: the service sent int"),
        ({"commandLine": 5}, r"CloudTask\.command_line: the service sent int"),
        ({"stats": {"readIOps": "many"}}, r"TaskStatistics\.read_iops: .*str"),
        ({"stats": {"userCPUTime": []}}, r"TaskStatistics\.user_cpu_time: .*list"),
        ({"executionInfo": {"exitCode": True}}, r"exit_code: the service sent bool"),
        ({"executionInfo": {"failureInfo": {"details": [{"name": 5}]}}}, r"NameValuePair\.name"),
        ({"exitConditions": {"preProcessingError": []}}, r"pre_processing_error: .*list"),
        ({"affinityInfo": {}}, r"AffinityInformation\.affinity_id: .*missing"),
    ],
)
def test_malformed_nested_values_raise_typed_errors_when_structured(
    body: dict[str, Any], match: str
) -> None:
    with pytest.raises(ClientValidationError, match=match):
        from_wire(models.CloudTask, {"id": "t", **body})


def test_every_field_of_a_structured_reply_reads_without_error() -> None:
    body = _listed_task()
    task = from_wire(models.CloudTask, body)
    for model in _walk(task):
        for field in attrs.fields(type(model)):
            getattr(model, field.name)  # nested values convert here; none can fail


def _walk(model: Any) -> Any:
    yield model
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        for item in value if isinstance(value, list) else [value]:
            if attrs.has(type(item)):
                yield from _walk(item)


def test_malformed_scalars_in_a_reply_raise_typed_errors() -> None:
    with pytest.raises(ClientValidationError, match=r"CloudTask\.state: expected a TaskState"):
        from_wire(models.CloudTask, {"state": ["active"]})
    with pytest.raises(ClientValidationError, match=r"CloudTaskListResult\.value: .*sent dict"):
        from_wire(models.CloudTaskListResult, {"value": {"id": "t"}})
    with pytest.raises(ClientValidationError, match=r"CloudTask\.url: the service sent float"):
        from_wire(models.CloudTask, {"url": 1.5})
    with pytest.raises(ClientValidationError, match=r"TaskAddResult\.last_modified: 'x' is not"):
        parse_task_add_results(
            [
                {
                    "status": "success",
                    "taskId": "t",
                    "eTag": "e",
                    "lastModified": "x",
                    "location": "l",
                }
            ]
        )
    results = parse_task_add_results(
        [{"status": "success", "taskId": "t", "eTag": "e", "lastModified": TICKS, "location": "l"}]
    )
    assert results[0].last_modified == parse_datetime(TICKS)


def test_listed_models_convert_on_first_read_and_round_trip_exactly() -> None:
    body = _listed_task()
    untouched = from_wire(models.CloudTask, body)
    assert untouched.to_dict() == {**body, "outputFiles": untouched.to_dict()["outputFiles"]}
    read = from_wire(models.CloudTask, body)
    assert read.creation_time == parse_datetime(TICKS)
    assert read.creation_time is read.creation_time  # converted once, then kept
    assert read.constraints is not None
    assert read.constraints.max_wall_clock_time == parse_duration(TIMESPAN_MAX)
    assert read.output_files is not None
    assert read.output_files[0].upload_options.upload_condition is (
        models.OutputFileUploadCondition.TASK_COMPLETION
    )
    assert read.to_dict() == untouched.to_dict()
    assert read == untouched == models.CloudTask.from_dict(body)
    assert pickle.loads(pickle.dumps(untouched)) == read
    assert copy.deepcopy(untouched) == read  # copies keep values (wire text is a cache)


def test_reading_a_listed_model_does_not_change_the_input() -> None:
    body = _listed_task()
    snapshot = copy.deepcopy(body)
    task = from_wire(models.CloudTask, body)
    assert task.resource_files is None
    assert task.output_files is not None
    task.output_files.append(
        models.OutputFile(
            file_pattern="b",
            destination=models.OutputFileDestination(),
            upload_options=models.OutputFileUploadOptions(
                upload_condition=models.OutputFileUploadCondition.TASK_FAILURE
            ),
        )
    )
    assert body == snapshot


def test_prepare_generates_every_models_hooks_once() -> None:
    from batch_tasks_async import _serialization

    _serialization.prepare()
    every = {getattr(models, name) for name in models.__all__} & set(
        _serialization._UNSTRUCTURE_HOOKS
    )
    assert len(every) == len([n for n in models.__all__ if hasattr(getattr(models, n), "to_dict")])
    hooks = dict(_serialization._STRUCTURE_HOOKS)
    _serialization.prepare()
    assert hooks == _serialization._STRUCTURE_HOOKS


def test_the_client_generates_the_hooks_when_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    import batch_tasks_async as bta
    from batch_tasks_async import _client

    calls: list[None] = []
    monkeypatch.setattr(_client, "prepare_models", lambda: calls.append(None))
    client = bta.BatchClient("https://acct.test", bta.SharedKeyCredential("acct", "a2V5"))
    assert calls == [None]
    del client


def test_add_results_fast_path_matches_the_generated_hook() -> None:
    from batch_tasks_async._serialization import parse_task_add_results

    entries: list[Any] = [
        {
            "status": "Success",
            "taskId": "t1",
            "eTag": "0x1",
            "lastModified": TICKS,
            "location": "https://acct/jobs/j/tasks/t1",
        },
        {
            "status": "success",
            "taskId": None,
            "eTag": "0x1",
            "lastModified": TICKS,
            "location": "u",
        },
        {"status": "clienterror", "taskId": "t2", "error": {"code": "TaskExists"}},
    ]
    fast = parse_task_add_results(entries[:1])
    assert fast == [from_wire(models.TaskAddResult, entries[0])]
    assert fast[0].to_dict() == {**entries[0], "status": "success"}
    assert fast[0].last_modified == parse_datetime(TICKS)
    assert fast[0].error is None
    with pytest.raises(ClientValidationError, match=r"TaskAddResult\.task_id"):
        parse_task_add_results(entries[1:2])
    slow = parse_task_add_results(entries[2:])
    assert slow[0].error is not None
    assert slow[0].error.code == "TaskExists"
    with pytest.raises(ClientValidationError, match="JSON array"):
        parse_task_add_results({"value": []})  # type: ignore[arg-type]
