"""Models for the Azure Batch Task REST API (api-version ``2024-07-01.20.0``).

Every wire type of the Task operations, generated from the service's Swagger definitions and
named exactly like them: request bodies
([`TaskAddParameter`][batch_tasks_async.models.TaskAddParameter],
[`TaskAddCollectionParameter`][batch_tasks_async.models.TaskAddCollectionParameter],
[`TaskUpdateParameter`][batch_tasks_async.models.TaskUpdateParameter]), response bodies
([`CloudTask`][batch_tasks_async.models.CloudTask],
[`CloudTaskListResult`][batch_tasks_async.models.CloudTaskListResult],
[`TaskAddCollectionResult`][batch_tasks_async.models.TaskAddCollectionResult],
[`CloudTaskListSubtasksResult`][batch_tasks_async.models.CloudTaskListSubtasksResult],
[`TaskCountsResult`][batch_tasks_async.models.TaskCountsResult]), the error body
([`BatchError`][batch_tasks_async.models.BatchError]) and everything they contain.

Conventions:

* Models are ``attrs`` classes with keyword-only constructors and snake_case attributes.
  Properties the spec marks as required are required arguments; all others default to ``None``
  ("not set"), and unset properties are left out of the JSON.
* Every constructor argument is checked: a wrong type, ``None`` or a missing value for a required
  property raises [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError]
  naming the class and field. Durations also take ISO-8601 text (``"PT1H"``); a mapping is
  accepted where a model is expected and read as that model's wire JSON (camelCase keys).
* ``to_dict()`` returns the camelCase JSON dict the service uses; ``from_dict()`` builds a model
  from one, checked like the constructor. Both go through the SDK's single converter
  (``batch_tasks_async._serialization``).
* Models read from the service convert datetimes, durations and nested objects when they are
  first read (a listing of many tasks stays cheap), after checking the reply's JSON shape when it
  is structured, so a malformed reply fails at the call, not on a read; properties of
  response-only objects that a reply may leave out are optional even where the spec calls them
  required.
* Forward compatibility: every model has ``additional_properties``, a dict holding the JSON
  properties this SDK version does not declare (properties added by newer service versions,
  properties of older api-versions, ``odata.*`` annotations such as ``odata.metadata`` or
  ``error@odata.navigationLinkUrl``). They are written back by ``to_dict()``, so a round trip
  loses nothing. ``additional_properties`` does not take part in equality: two models are equal
  when their declared properties are.
* Datetimes are timezone-aware ``datetime`` values, durations are ``timedelta`` values. Values
  received from the service keep their exact wire text (the service sends 100 ns precision) and
  are sent back unchanged; naive datetimes are refused.
* Enums are ``str`` enums holding the wire values. Parsing is case-insensitive (the service
  echoes ``"Success"`` or ``"TaskCompletion"``); a value this SDK does not know yields a
  pseudo-member that keeps the raw string (see [`WireEnum`][batch_tasks_async.models.WireEnum]).
* Secrets stay out of ``repr()``: ``ContainerRegistry.password`` is hidden and SAS signatures in
  blob URLs are redacted.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Self

import attrs

from ._codegen import INT64 as _INT64
from ._codegen import WIRE_NAME as _WIRE_NAME
from ._codegen import install as _install
from ._codegen import is_model as _is_model
from ._dates import parse_duration
from ._serialization import from_user, structure_hook, to_wire
from .errors import ClientValidationError

__all__ = [
    "AccessScope",
    "AffinityInformation",
    "ApplicationPackageReference",
    "AuthenticationTokenSettings",
    "AutoUserScope",
    "AutoUserSpecification",
    "BatchError",
    "BatchErrorDetail",
    "CloudTask",
    "CloudTaskListResult",
    "CloudTaskListSubtasksResult",
    "ComputeNodeIdentityReference",
    "ComputeNodeInformation",
    "ContainerHostBatchBindMountEntry",
    "ContainerHostDataPath",
    "ContainerRegistry",
    "ContainerWorkingDirectory",
    "DependencyAction",
    "ElevationLevel",
    "EnvironmentSetting",
    "ErrorCategory",
    "ErrorMessage",
    "ExitCodeMapping",
    "ExitCodeRangeMapping",
    "ExitConditions",
    "ExitOptions",
    "FileProperties",
    "HttpHeader",
    "JobAction",
    "MultiInstanceSettings",
    "NameValuePair",
    "NodeFile",
    "NodeFileListResult",
    "OutputFile",
    "OutputFileBlobContainerDestination",
    "OutputFileDestination",
    "OutputFileUploadCondition",
    "OutputFileUploadOptions",
    "ResourceFile",
    "SubtaskInformation",
    "SubtaskState",
    "TaskAddCollectionParameter",
    "TaskAddCollectionResult",
    "TaskAddParameter",
    "TaskAddResult",
    "TaskAddStatus",
    "TaskConstraints",
    "TaskContainerExecutionInformation",
    "TaskContainerSettings",
    "TaskCounts",
    "TaskCountsResult",
    "TaskDependencies",
    "TaskExecutionInformation",
    "TaskExecutionResult",
    "TaskFailureInformation",
    "TaskIdRange",
    "TaskSlotCounts",
    "TaskState",
    "TaskStatistics",
    "TaskUpdateParameter",
    "UserIdentity",
    "WireEnum",
]

# An unknown enum value is cached as a pseudo-member, so later lookups are as fast as for
# known ones; the cache is bounded so a misbehaving server cannot grow it without limit.
_MAX_CACHED_ALIASES: Final = 256


class WireEnum(enum.StrEnum):
    """Base of the SDK's enums: ``StrEnum``s whose values are the service's wire strings.

    * Lookups are case-insensitive: ``TaskAddStatus("ClientError") is
      TaskAddStatus.CLIENT_ERROR``.
    * A value the SDK does not know (added by a newer service version) does not fail: it becomes
      a *pseudo-member*, an instance of the enum whose ``name`` and ``value`` are the raw string.
      It compares equal to that string, is serialized back unchanged, and is not listed when
      iterating the enum. Check ``member in TaskState.__members__.values()`` to tell known values
      from unknown ones.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        folded = value.casefold()
        found: Self | None = None
        for member in cls.__members__.values():
            if member.value.casefold() == folded:
                found = member
                break
        if found is None:
            found = str.__new__(cls, value)
            found._name_ = value
            found._value_ = value
        aliases = cls._value2member_map_
        if len(aliases) < _MAX_CACHED_ALIASES:
            aliases[value] = found
        return found


_SAS_SIGNATURE: Final = re.compile(r"(?i)([?&]sig=)[^&#]*")


def _redact_sas(url: str | None) -> str:
    """``repr()`` of a blob URL with its SAS signature (``sig=...``) hidden."""
    if url is None:
        return "None"
    return repr(_SAS_SIGNATURE.sub(r"\1REDACTED", url))


def _duration(value: timedelta | str | None) -> timedelta | None:
    """The attrs converter of duration fields: a ``timedelta``, or ISO-8601 text such as
    ``"PT1H"`` parsed into one. The generated ``__init__`` does the same conversion and names the
    field when the text is not a duration."""
    if value is None or isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ClientValidationError(
            f"expected a timedelta or ISO-8601 duration text, got {type(value).__name__}"
        )
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ClientValidationError(str(exc)) from None


class _Model:
    """Mixin giving every model ``to_dict()`` and ``from_dict()``."""

    __slots__ = ()

    additional_properties: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the camelCase wire JSON of this model, leaving out unset (``None``) properties.

        ``additional_properties`` are included, so data received from the service is returned
        unchanged (except for the letter case of enum values).
        """
        return to_wire(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build this model from its wire JSON (camelCase keys, as the service writes them).

        Every value is checked as the constructor checks it, nested objects included: datetimes
        and durations may be ISO-8601 text, int64 counters numeric strings. Unknown properties
        go to ``additional_properties``; enum values are matched case-insensitively; JSON
        ``null`` means "not set".

        Raises:
            ClientValidationError: ``data`` is not a mapping, a required property is missing,
                a value has the wrong type, or a key is a Python attribute name (``command_line``)
                instead of its wire name (``commandLine``); the message names the field.
        """
        return from_user(cls, data)


class ContainerWorkingDirectory(WireEnum):
    """The location of the container Task working directory.

    Members:
        TASK_WORKING_DIRECTORY (``"taskWorkingDirectory"``): Use the standard Batch service Task
            working directory, which will contain the Task Resource Files populated by Batch.
        CONTAINER_IMAGE_DEFAULT (``"containerImageDefault"``): Use the working directory defined in
            the container Image.
    """

    TASK_WORKING_DIRECTORY = "taskWorkingDirectory"
    CONTAINER_IMAGE_DEFAULT = "containerImageDefault"


class ContainerHostDataPath(WireEnum):
    """The paths which will be mounted to container task's container.

    Members:
        SHARED (``"Shared"``): The path for multi-instances task to shared their files.
        STARTUP (``"Startup"``): The path for start task.
        VFS_MOUNTS (``"VfsMounts"``): The path contains all virtual file systems are mounted on this
            node.
        TASK (``"Task"``): The task path.
        JOB_PREP (``"JobPrep"``): The job-prep task path.
        APPLICATIONS (``"Applications"``): The applications path.
    """

    SHARED = "Shared"
    STARTUP = "Startup"
    VFS_MOUNTS = "VfsMounts"
    TASK = "Task"
    JOB_PREP = "JobPrep"
    APPLICATIONS = "Applications"


class JobAction(WireEnum):
    """An action to take on the Job containing the Task, if the Task completes with the given exit
    condition and the Job's onTaskFailed property is 'performExitOptionsJobAction'.

    Members:
        NONE (``"none"``): Take no action.
        DISABLE (``"disable"``): Disable the Job.
        TERMINATE (``"terminate"``): Terminate the Job.
    """

    NONE = "none"
    DISABLE = "disable"
    TERMINATE = "terminate"


class DependencyAction(WireEnum):
    """An action that the Batch service performs on Tasks that depend on this Task.

    Members:
        SATISFY (``"satisfy"``): Satisfy tasks waiting on this task; once all dependencies are
            satisfied, the task will be scheduled to run.
        BLOCK (``"block"``): Blocks tasks waiting on this task, preventing them from being
            scheduled.
    """

    SATISFY = "satisfy"
    BLOCK = "block"


class OutputFileUploadCondition(WireEnum):
    """The conditions under which a Task output file or set of files should be uploaded.

    Members:
        TASK_SUCCESS (``"tasksuccess"``): Upload the file(s) only after the Task process exits with
            an exit code of 0.
        TASK_FAILURE (``"taskfailure"``): Upload the file(s) only after the Task process exits with
            a nonzero exit code.
        TASK_COMPLETION (``"taskcompletion"``): Upload the file(s) after the Task process exits, no
            matter what the exit code was.
    """

    TASK_SUCCESS = "tasksuccess"
    TASK_FAILURE = "taskfailure"
    TASK_COMPLETION = "taskcompletion"


class AutoUserScope(WireEnum):
    """The scope for the auto user.

    Members:
        TASK (``"task"``): Specifies that the service should create a new user for the Task.
        POOL (``"pool"``): Specifies that the Task runs as the common auto user Account which is
            created on every Compute Node in a Pool.
    """

    TASK = "task"
    POOL = "pool"


class ElevationLevel(WireEnum):
    """The elevation level of the user.

    Members:
        NON_ADMIN (``"nonadmin"``): The user is a standard user without elevated access.
        ADMIN (``"admin"``): The user is a user with elevated access and operates with full
            Administrator permissions.
    """

    NON_ADMIN = "nonadmin"
    ADMIN = "admin"


class AccessScope(WireEnum):
    """The Batch resources to which the token grants access.

    Members:
        JOB (``"job"``): Grants access to perform all operations on the Job containing the Task.
    """

    JOB = "job"


class TaskState(WireEnum):
    """The state of the Task.

    Members:
        ACTIVE (``"active"``): The Task is queued and able to run, but is not currently assigned to
            a Compute Node.
        PREPARING (``"preparing"``): The Task has been assigned to a Compute Node, but is waiting
            for a required Job Preparation Task to complete on the Compute Node.
        RUNNING (``"running"``): The Task is running on a Compute Node.
        COMPLETED (``"completed"``): The Task is no longer eligible to run, usually because the Task
            has finished successfully, or the Task has finished unsuccessfully and has exhausted its
            retry limit.
    """

    ACTIVE = "active"
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"


class ErrorCategory(WireEnum):
    """The category of the error.

    Members:
        USER_ERROR (``"usererror"``): The error is due to a user issue, such as misconfiguration.
        SERVER_ERROR (``"servererror"``): The error is due to an internal server issue.
    """

    USER_ERROR = "usererror"
    SERVER_ERROR = "servererror"


class TaskExecutionResult(WireEnum):
    """The result of Task execution.

    Members:
        SUCCESS (``"success"``): The Task ran successfully.
        FAILURE (``"failure"``): There was an error during processing of the Task.
    """

    SUCCESS = "success"
    FAILURE = "failure"


class TaskAddStatus(WireEnum):
    """The status of the add Task request.

    Members:
        SUCCESS (``"success"``): The Task was added successfully.
        CLIENT_ERROR (``"clienterror"``): The Task failed to add due to a client error and should
            not be retried without modifying the request as appropriate.
        SERVER_ERROR (``"servererror"``): Task failed to add due to a server error and can be
            retried without modification.
    """

    SUCCESS = "success"
    CLIENT_ERROR = "clienterror"
    SERVER_ERROR = "servererror"


class SubtaskState(WireEnum):
    """The state of the subtask.

    Members:
        PREPARING (``"preparing"``): The Task has been assigned to a Compute Node, but is waiting
            for a required Job Preparation Task to complete on the Compute Node.
        RUNNING (``"running"``): The Task is running on a Compute Node.
        COMPLETED (``"completed"``): The Task is no longer eligible to run, usually because the Task
            has finished successfully, or the Task has finished unsuccessfully and has exhausted its
            retry limit.
    """

    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"


@attrs.define(kw_only=True)
class ComputeNodeIdentityReference(_Model):
    """The reference to a user assigned identity associated with the Batch pool which a compute node
    will use.

    Attributes:
        resource_id: The ARM resource id of the user assigned identity.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    resource_id: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ContainerRegistry(_Model):
    """A private container registry.

    Attributes:
        user_name: The user name to log into the registry server.
        password: The password to log into the registry server. Never shown in ``repr()``.
        registry_server: The registry URL.
        identity_reference: The reference to the user assigned identity to use to access an Azure
            Container Registry instead of username and password.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    user_name: str | None = attrs.field(default=None, metadata={_WIRE_NAME: "username"})
    password: str | None = attrs.field(default=None, repr=False)
    registry_server: str | None = None
    identity_reference: ComputeNodeIdentityReference | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ContainerHostBatchBindMountEntry(_Model):
    """The entry of path and mount mode you want to mount into task container.

    Attributes:
        source: The path which be mounted to container customer can select.
        is_read_only: Mount this source path as read-only mode or not. Default value is false
            (read/write mode).
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    source: ContainerHostDataPath | None = None
    is_read_only: bool | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskContainerSettings(_Model):
    """The container settings for a Task.

    Attributes:
        container_run_options: Additional options to the container create command.
        image_name: (required) The Image to use to create the container in which the Task will run.
        registry: The private registry which contains the container Image.
        working_directory: The location of the container Task working directory.
        container_host_batch_bind_mounts: The paths you want to mounted to container task.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    container_run_options: str | None = None
    image_name: str
    registry: ContainerRegistry | None = None
    working_directory: ContainerWorkingDirectory | None = None
    container_host_batch_bind_mounts: list[ContainerHostBatchBindMountEntry] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ExitOptions(_Model):
    """Specifies how the Batch service responds to a particular exit condition.

    Attributes:
        job_action: An action to take on the Job containing the Task, if the Task completes with the
            given exit condition and the Job's onTaskFailed property is
            'performExitOptionsJobAction'.
        dependency_action: An action that the Batch service performs on Tasks that depend on this
            Task.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    job_action: JobAction | None = None
    dependency_action: DependencyAction | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ExitCodeMapping(_Model):
    """How the Batch service should respond if a Task exits with a particular exit code.

    Attributes:
        code: (required) A process exit code.
        exit_options: (required) How the Batch service should respond if the Task exits with this
            exit code.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    code: int
    exit_options: ExitOptions
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ExitCodeRangeMapping(_Model):
    """A range of exit codes and how the Batch service should respond to exit codes within that
    range.

    Attributes:
        start: (required) The first exit code in the range.
        end: (required) The last exit code in the range.
        exit_options: (required) How the Batch service should respond if the Task exits with an exit
            code in the range start to end (inclusive).
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    start: int
    end: int
    exit_options: ExitOptions
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ExitConditions(_Model):
    """Specifies how the Batch service should respond when the Task completes.

    Attributes:
        exit_codes: A list of individual Task exit codes and how the Batch service should respond to
            them.
        exit_code_ranges: A list of Task exit code ranges and how the Batch service should respond
            to them.
        pre_processing_error: How the Batch service should respond if the Task fails to start due to
            an error.
        file_upload_error: How the Batch service should respond if a file upload error occurs.
        default: How the Batch service should respond if the Task fails with an exit condition not
            covered by any of the other properties.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    exit_codes: list[ExitCodeMapping] | None = None
    exit_code_ranges: list[ExitCodeRangeMapping] | None = None
    pre_processing_error: ExitOptions | None = None
    file_upload_error: ExitOptions | None = None
    default: ExitOptions | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ResourceFile(_Model):
    """A single file or multiple files to be downloaded to a Compute Node.

    Attributes:
        auto_storage_container_name: The storage container name in the auto storage Account.
        storage_container_url: The URL of the blob container within Azure Blob Storage. A SAS
            signature in it is redacted in ``repr()``.
        http_url: The URL of the file to download. A SAS signature in it is redacted in ``repr()``.
        blob_prefix: The blob prefix to use when downloading blobs from an Azure Storage container.
            Only the blobs whose names begin with the specified prefix will be downloaded.
        file_path: The location on the Compute Node to which to download the file(s), relative to
            the Task's working directory.
        file_mode: The file permission mode attribute in octal format.
        identity_reference: The reference to the user assigned identity to use to access Azure Blob
            Storage specified by storageContainerUrl or httpUrl.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    auto_storage_container_name: str | None = None
    storage_container_url: str | None = attrs.field(default=None, repr=_redact_sas)
    http_url: str | None = attrs.field(default=None, repr=_redact_sas)
    blob_prefix: str | None = None
    file_path: str | None = None
    file_mode: str | None = None
    identity_reference: ComputeNodeIdentityReference | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class HttpHeader(_Model):
    """An HTTP header name-value pair.

    Attributes:
        name: (required) The case-insensitive name of the header to be used while uploading output
            files.
        value: The value of the header to be used while uploading output files.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    name: str
    value: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class OutputFileBlobContainerDestination(_Model):
    """Specifies a file upload destination within an Azure blob storage container.

    Attributes:
        path: The destination blob or virtual directory within the Azure Storage container.
        container_url: (required) The URL of the container within Azure Blob Storage to which to
            upload the file(s). A SAS signature in it is redacted in ``repr()``.
        identity_reference: The reference to the user assigned identity to use to access Azure Blob
            Storage specified by containerUrl.
        upload_headers: A list of name-value pairs for headers to be used in uploading output files.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    path: str | None = None
    container_url: str = attrs.field(repr=_redact_sas)
    identity_reference: ComputeNodeIdentityReference | None = None
    upload_headers: list[HttpHeader] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class OutputFileDestination(_Model):
    """The destination to which a file should be uploaded.

    Attributes:
        container: A location in Azure blob storage to which files are uploaded.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    container: OutputFileBlobContainerDestination | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class OutputFileUploadOptions(_Model):
    """Details about an output file upload operation, including under what conditions to perform the
    upload.

    Attributes:
        upload_condition: (required) The conditions under which the Task output file or set of files
            should be uploaded.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    upload_condition: OutputFileUploadCondition
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class OutputFile(_Model):
    """A specification for uploading files from an Azure Batch Compute Node to another location
    after the Batch service has finished executing the Task process.

    Attributes:
        file_pattern: (required) A pattern indicating which file(s) to upload.
        destination: (required) The destination for the output file(s).
        upload_options: (required) Additional options for the upload operation, including under what
            conditions to perform the upload.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    file_pattern: str
    destination: OutputFileDestination
    upload_options: OutputFileUploadOptions
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class EnvironmentSetting(_Model):
    """An environment variable to be set on a Task process.

    Attributes:
        name: (required) The name of the environment variable.
        value: The value of the environment variable.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    name: str
    value: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class AffinityInformation(_Model):
    """A locality hint that can be used by the Batch service to select a Compute Node on which to
    start a Task.

    Attributes:
        affinity_id: (required) An opaque string representing the location of a Compute Node or a
            Task that has run previously.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    affinity_id: str
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


# Durations are converted by the generated __init__ and the field descriptor, not on setattr.
@attrs.define(kw_only=True, on_setattr=attrs.setters.NO_OP)
class TaskConstraints(_Model):
    """Execution constraints to apply to a Task.

    Attributes:
        max_wall_clock_time: The maximum elapsed time that the Task may run, measured from the time
            the Task starts. If the Task does not complete within the time limit, the Batch service
            terminates it.
        retention_time: The minimum time to retain the Task directory on the Compute Node where it
            ran, from the time it completes execution. After this time, the Batch service may delete
            the Task directory and all its contents.
        max_task_retry_count: The maximum number of times the Task may be retried. The Batch service
            retries a Task if its exit code is nonzero.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    max_wall_clock_time: timedelta | None = attrs.field(default=None, converter=_duration)
    retention_time: timedelta | None = attrs.field(default=None, converter=_duration)
    max_task_retry_count: int | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class AutoUserSpecification(_Model):
    """Specifies the parameters for the auto user that runs a Task on the Batch service.

    Attributes:
        scope: The scope for the auto user.
        elevation_level: The elevation level of the auto user.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    scope: AutoUserScope | None = None
    elevation_level: ElevationLevel | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class UserIdentity(_Model):
    """The definition of the user identity under which the Task is run.

    Attributes:
        user_name: The name of the user identity under which the Task is run.
        auto_user: The auto user under which the Task is run.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    user_name: str | None = attrs.field(default=None, metadata={_WIRE_NAME: "username"})
    auto_user: AutoUserSpecification | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class MultiInstanceSettings(_Model):
    """Settings which specify how to run a multi-instance Task.

    Attributes:
        number_of_instances: The number of Compute Nodes required by the Task.
        coordination_command_line: (required) The command line to run on all the Compute Nodes to
            enable them to coordinate when the primary runs the main Task command.
        common_resource_files: A list of files that the Batch service will download before running
            the coordination command line.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    number_of_instances: int | None = None
    coordination_command_line: str
    common_resource_files: list[ResourceFile] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskIdRange(_Model):
    """A range of Task IDs that a Task can depend on. All Tasks with IDs in the range must complete
    successfully before the dependent Task can be scheduled.

    Attributes:
        start: (required) The first Task ID in the range.
        end: (required) The last Task ID in the range.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    start: int
    end: int
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskDependencies(_Model):
    """Specifies any dependencies of a Task. Any Task that is explicitly specified or within a
    dependency range must complete before the dependant Task will be scheduled.

    Attributes:
        task_ids: The list of Task IDs that this Task depends on. All Tasks in this list must
            complete successfully before the dependent Task can be scheduled.
        task_id_ranges: The list of Task ID ranges that this Task depends on. All Tasks in all
            ranges must complete successfully before the dependent Task can be scheduled.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    task_ids: list[str] | None = None
    task_id_ranges: list[TaskIdRange] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ApplicationPackageReference(_Model):
    """A reference to an Package to be deployed to Compute Nodes.

    Attributes:
        application_id: (required) The ID of the application to deploy.
        version: The version of the application to deploy. If omitted, the default version is
            deployed.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    application_id: str
    version: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class AuthenticationTokenSettings(_Model):
    """The settings for an authentication token that the Task can use to perform Batch service
    operations.

    Attributes:
        access: The Batch resources to which the token grants access.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    access: list[AccessScope] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskAddParameter(_Model):
    """An Azure Batch Task to add.

    Attributes:
        id: (required) A string that uniquely identifies the Task within the Job.
        display_name: A display name for the Task.
        command_line: (required) The command line of the Task.
        container_settings: The settings for the container under which the Task runs.
        exit_conditions: How the Batch service should respond when the Task completes.
        resource_files: A list of files that the Batch service will download to the Compute Node
            before running the command line.
        output_files: A list of files that the Batch service will upload from the Compute Node after
            running the command line.
        environment_settings: A list of environment variable settings for the Task.
        affinity_info: A locality hint that can be used by the Batch service to select a Compute
            Node on which to start the new Task.
        constraints: The execution constraints that apply to this Task.
        required_slots: The number of scheduling slots that the Task required to run.
        user_identity: The user identity under which the Task runs.
        multi_instance_settings: An object that indicates that the Task is a multi-instance Task,
            and contains information about how to run the multi-instance Task.
        depends_on: The Tasks that this Task depends on.
        application_package_references: A list of Packages that the Batch service will deploy to the
            Compute Node before running the command line.
        authentication_token_settings: The settings for an authentication token that the Task can
            use to perform Batch service operations.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    id: str
    display_name: str | None = None
    command_line: str
    container_settings: TaskContainerSettings | None = None
    exit_conditions: ExitConditions | None = None
    resource_files: list[ResourceFile] | None = None
    output_files: list[OutputFile] | None = None
    environment_settings: list[EnvironmentSetting] | None = None
    affinity_info: AffinityInformation | None = None
    constraints: TaskConstraints | None = None
    required_slots: int | None = None
    user_identity: UserIdentity | None = None
    multi_instance_settings: MultiInstanceSettings | None = None
    depends_on: TaskDependencies | None = None
    application_package_references: list[ApplicationPackageReference] | None = None
    authentication_token_settings: AuthenticationTokenSettings | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskContainerExecutionInformation(_Model):
    """Contains information about the container which a Task is executing.

    Attributes:
        container_id: The ID of the container.
        state: The state of the container.
        error: Detailed error information about the container.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    container_id: str | None = None
    state: str | None = None
    error: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class NameValuePair(_Model):
    """Represents a name-value pair.

    Attributes:
        name: The name in the name-value pair.
        value: The value in the name-value pair.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    name: str | None = None
    value: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskFailureInformation(_Model):
    """Information about a Task failure.

    ``category`` is always sent by the service; it is optional here so that a reply that leaves
    it out still reads (as ``None``) and round-trips unchanged.

    Attributes:
        category: The category of the Task error.
        code: An identifier for the Task error. Codes are invariant and are intended to be consumed
            programmatically.
        message: A message describing the Task error, intended to be suitable for display in a user
            interface.
        details: A list of additional details related to the error.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    category: ErrorCategory | None = None
    code: str | None = None
    message: str | None = None
    details: list[NameValuePair] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskExecutionInformation(_Model):
    """Information about the execution of a Task.

    ``retry_count`` and ``requeue_count`` are always sent by the service; they are optional here
    so that a reply that leaves them out still reads (as ``None``) and round-trips unchanged.

    Attributes:
        start_time: The time at which the Task started running.
        end_time: The time at which the Task completed.
        exit_code: The exit code of the program specified on the Task command line.
        container_info: Information about the container under which the Task is executing.
        failure_info: Information describing the Task failure, if any.
        retry_count: The number of times the Task has been retried by the Batch service.
        last_retry_time: The most recent time at which a retry of the Task started running.
        requeue_count: The number of times the Task has been requeued by the Batch
            service as the result of a user request.
        last_requeue_time: The most recent time at which the Task has been requeued by the Batch
            service as the result of a user request.
        result: The result of the Task execution.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    start_time: datetime | None = None
    end_time: datetime | None = None
    exit_code: int | None = None
    container_info: TaskContainerExecutionInformation | None = None
    failure_info: TaskFailureInformation | None = None
    retry_count: int | None = None
    last_retry_time: datetime | None = None
    requeue_count: int | None = None
    last_requeue_time: datetime | None = None
    result: TaskExecutionResult | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ComputeNodeInformation(_Model):
    """Information about the Compute Node on which a Task ran.

    Attributes:
        affinity_id: An identifier for the Node on which the Task ran, which can be passed when
            adding a Task to request that the Task be scheduled on this Compute Node.
        node_url: The URL of the Compute Node on which the Task ran.
        pool_id: The ID of the Pool on which the Task ran.
        node_id: The ID of the Compute Node on which the Task ran.
        task_root_directory: The root directory of the Task on the Compute Node.
        task_root_directory_url: The URL to the root directory of the Task on the Compute Node.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    affinity_id: str | None = None
    node_url: str | None = None
    pool_id: str | None = None
    node_id: str | None = None
    task_root_directory: str | None = None
    task_root_directory_url: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


# Durations are converted by the generated __init__ and the field descriptor, not on setattr.
@attrs.define(kw_only=True, on_setattr=attrs.setters.NO_OP)
class TaskStatistics(_Model):
    """Resource usage statistics for a Task.

    The service always sends every property; they are optional here so that a reply that leaves
    one out still reads (as ``None``) and round-trips unchanged.

    Attributes:
        url: The URL of the statistics.
        start_time: The start time of the time range covered by the statistics.
        last_update_time: The time at which the statistics were last updated. All
            statistics are limited to the range between startTime and lastUpdateTime.
        user_cpu_time: The total user mode CPU time (summed across all cores and all
            Compute Nodes) consumed by the Task.
        kernel_cpu_time: The total kernel mode CPU time (summed across all cores and all
            Compute Nodes) consumed by the Task.
        wall_clock_time: The total wall clock time of the Task.
        read_iops: The total number of disk read operations made by the Task.
        write_iops: The total number of disk write operations made by the Task.
        read_io_gib: The total gibibytes read from disk by the Task.
        write_io_gib: The total gibibytes written to disk by the Task.
        wait_time: The total wait time of the Task. The wait time for a Task is defined
            as the elapsed time between the creation of the Task and the start of Task execution.
            (If the Task is retried due to failures, the wait time is the time to the most recent
            Task execution.).
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    url: str | None = None
    start_time: datetime | None = None
    last_update_time: datetime | None = None
    user_cpu_time: timedelta | None = attrs.field(
        default=None,
        converter=_duration,
        metadata={_WIRE_NAME: "userCPUTime"},
    )
    kernel_cpu_time: timedelta | None = attrs.field(
        default=None,
        converter=_duration,
        metadata={_WIRE_NAME: "kernelCPUTime"},
    )
    wall_clock_time: timedelta | None = attrs.field(default=None, converter=_duration)
    read_iops: int | None = attrs.field(
        default=None, metadata={_WIRE_NAME: "readIOps", _INT64: True}
    )
    write_iops: int | None = attrs.field(
        default=None, metadata={_WIRE_NAME: "writeIOps", _INT64: True}
    )
    read_io_gib: float | None = attrs.field(default=None, metadata={_WIRE_NAME: "readIOGiB"})
    write_io_gib: float | None = attrs.field(default=None, metadata={_WIRE_NAME: "writeIOGiB"})
    wait_time: timedelta | None = attrs.field(default=None, converter=_duration)
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class CloudTask(_Model):
    """An Azure Batch Task.

    Attributes:
        id: A string that uniquely identifies the Task within the Job.
        display_name: A display name for the Task.
        url: The URL of the Task.
        e_tag: The ETag of the Task.
        last_modified: The last modified time of the Task.
        creation_time: The creation time of the Task.
        exit_conditions: How the Batch service should respond when the Task completes.
        state: The current state of the Task.
        state_transition_time: The time at which the Task entered its current state.
        previous_state: The previous state of the Task.
        previous_state_transition_time: The time at which the Task entered its previous state.
        command_line: The command line of the Task.
        container_settings: The settings for the container under which the Task runs.
        resource_files: A list of files that the Batch service will download to the Compute Node
            before running the command line.
        output_files: A list of files that the Batch service will upload from the Compute Node after
            running the command line.
        environment_settings: A list of environment variable settings for the Task.
        affinity_info: A locality hint that can be used by the Batch service to select a Compute
            Node on which to start the new Task.
        constraints: The execution constraints that apply to this Task.
        required_slots: The number of scheduling slots that the Task requires to run.
        user_identity: The user identity under which the Task runs.
        execution_info: Information about the execution of the Task.
        node_info: Information about the Compute Node on which the Task ran.
        multi_instance_settings: An object that indicates that the Task is a multi-instance Task,
            and contains information about how to run the multi-instance Task.
        stats: Resource usage statistics for the Task.
        depends_on: The Tasks that this Task depends on.
        application_package_references: A list of Packages that the Batch service will deploy to the
            Compute Node before running the command line.
        authentication_token_settings: The settings for an authentication token that the Task can
            use to perform Batch service operations.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    id: str | None = None
    display_name: str | None = None
    url: str | None = None
    e_tag: str | None = None
    last_modified: datetime | None = None
    creation_time: datetime | None = None
    exit_conditions: ExitConditions | None = None
    state: TaskState | None = None
    state_transition_time: datetime | None = None
    previous_state: TaskState | None = None
    previous_state_transition_time: datetime | None = None
    command_line: str | None = None
    container_settings: TaskContainerSettings | None = None
    resource_files: list[ResourceFile] | None = None
    output_files: list[OutputFile] | None = None
    environment_settings: list[EnvironmentSetting] | None = None
    affinity_info: AffinityInformation | None = None
    constraints: TaskConstraints | None = None
    required_slots: int | None = None
    user_identity: UserIdentity | None = None
    execution_info: TaskExecutionInformation | None = None
    node_info: ComputeNodeInformation | None = None
    multi_instance_settings: MultiInstanceSettings | None = None
    stats: TaskStatistics | None = None
    depends_on: TaskDependencies | None = None
    application_package_references: list[ApplicationPackageReference] | None = None
    authentication_token_settings: AuthenticationTokenSettings | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskAddCollectionParameter(_Model):
    """A collection of Azure Batch Tasks to add.

    Attributes:
        value: (required) The collection of Tasks to add. The maximum count of Tasks is 100.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    value: list[TaskAddParameter]
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class ErrorMessage(_Model):
    """An error message received in an Azure Batch error response.

    Attributes:
        lang: The language code of the error message.
        value: The text of the message.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    lang: str | None = None
    value: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class BatchErrorDetail(_Model):
    """An item of additional information included in an Azure Batch error response.

    Attributes:
        key: An identifier specifying the meaning of the Value property.
        value: The additional information included with the error response.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    key: str | None = None
    value: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class BatchError(_Model):
    """An error response received from the Azure Batch service.

    Attributes:
        code: An identifier for the error. Codes are invariant and are intended to be consumed
            programmatically.
        message: A message describing the error, intended to be suitable for display in a user
            interface.
        values: A collection of key-value pairs containing additional details about the error.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    code: str | None = None
    message: ErrorMessage | None = None
    values: list[BatchErrorDetail] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskAddResult(_Model):
    """Result for a single Task added as part of an add Task collection operation.

    Attributes:
        status: (required) The status of the add Task request.
        task_id: (required) The ID of the Task for which this is the result.
        e_tag: The ETag of the Task, if the Task was successfully added.
        last_modified: The last modified time of the Task.
        location: The URL of the Task, if the Task was successfully added.
        error: The error encountered while attempting to add the Task.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    status: TaskAddStatus
    task_id: str
    e_tag: str | None = None
    last_modified: datetime | None = None
    location: str | None = None
    error: BatchError | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskAddCollectionResult(_Model):
    """The result of adding a collection of Tasks to a Job.

    Attributes:
        value: The results of the add Task collection operation.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    value: list[TaskAddResult] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskUpdateParameter(_Model):
    """The set of changes to be made to a Task.

    Attributes:
        constraints: Constraints that apply to this Task.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    constraints: TaskConstraints | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class SubtaskInformation(_Model):
    """Information about an Azure Batch subtask.

    Attributes:
        id: The ID of the subtask.
        node_info: Information about the Compute Node on which the subtask ran.
        start_time: The time at which the subtask started running. If the subtask has been restarted
            or retried, this is the most recent time at which the subtask started running.
        end_time: The time at which the subtask completed.
        exit_code: The exit code of the program specified on the subtask command line.
        container_info: Information about the container under which the Task is executing.
        failure_info: Information describing the Task failure, if any.
        state: The current state of the subtask.
        state_transition_time: The time at which the subtask entered its current state.
        previous_state: The previous state of the subtask.
        previous_state_transition_time: The time at which the subtask entered its previous state.
        result: The result of the Task execution.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    id: int | None = None
    node_info: ComputeNodeInformation | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    exit_code: int | None = None
    container_info: TaskContainerExecutionInformation | None = None
    failure_info: TaskFailureInformation | None = None
    state: SubtaskState | None = None
    state_transition_time: datetime | None = None
    previous_state: SubtaskState | None = None
    previous_state_transition_time: datetime | None = None
    result: TaskExecutionResult | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class CloudTaskListResult(_Model):
    """The result of listing the Tasks in a Job.

    Attributes:
        value: The list of Tasks.
        odata_next_link: The URL to get the next set of results.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    value: list[CloudTask] | None = None
    odata_next_link: str | None = attrs.field(default=None, metadata={_WIRE_NAME: "odata.nextLink"})
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class CloudTaskListSubtasksResult(_Model):
    """The result of listing the subtasks of a Task.

    Attributes:
        value: The list of subtasks.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    value: list[SubtaskInformation] | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskCounts(_Model):
    """The Task counts for a Job.

    Attributes:
        active: (required) The number of Tasks in the active state.
        running: (required) The number of Tasks in the running or preparing state.
        completed: (required) The number of Tasks in the completed state.
        succeeded: (required) The number of Tasks which succeeded. A Task succeeds if its result
            (found in the executionInfo property) is 'success'.
        failed: (required) The number of Tasks which failed. A Task fails if its result (found in
            the executionInfo property) is 'failure'.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    active: int
    running: int
    completed: int
    succeeded: int
    failed: int
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskSlotCounts(_Model):
    """The TaskSlot counts for a Job.

    Attributes:
        active: (required) The number of TaskSlots for active Tasks.
        running: (required) The number of TaskSlots for running Tasks.
        completed: (required) The number of TaskSlots for completed Tasks.
        succeeded: (required) The number of TaskSlots for succeeded Tasks.
        failed: (required) The number of TaskSlots for failed Tasks.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    active: int
    running: int
    completed: int
    succeeded: int
    failed: int
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class TaskCountsResult(_Model):
    """The Task and TaskSlot counts for a Job.

    Attributes:
        task_counts: (required) The number of Tasks per state.
        task_slot_counts: (required) The number of TaskSlots required by Tasks per state.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    task_counts: TaskCounts
    task_slot_counts: TaskSlotCounts
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class FileProperties(_Model):
    """The properties of a file on a Compute Node.

    Attributes:
        creation_time: The file creation time (not returned for files on Linux Compute Nodes).
        last_modified: (required) The time at which the file was last modified.
        content_length: (required) The length of the file, in bytes.
        content_type: The content type of the file.
        file_mode: The file mode attribute in octal format (only for files on Linux Compute
            Nodes), e.g. ``"0o100644"``.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    creation_time: datetime | None = None
    last_modified: datetime
    content_length: int = attrs.field(metadata={_INT64: True})
    content_type: str | None = None
    file_mode: str | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class NodeFile(_Model):
    """Information about a file or directory on a Compute Node (a Task's files included).

    Attributes:
        name: The file path, relative to the Task's directory.
        url: The URL of the file.
        is_directory: Whether the object represents a directory.
        properties: The file properties (directories have none).
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    name: str | None = None
    url: str | None = None
    is_directory: bool | None = None
    properties: FileProperties | None = None
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.define(kw_only=True)
class NodeFileListResult(_Model):
    """The result of listing the files associated with a Task on a Compute Node.

    Attributes:
        value: The list of files.
        odata_next_link: The URL to get the next set of results.
        additional_properties: Wire properties this SDK version does not declare (including
            ``odata.*`` annotations), kept so a round trip loses nothing. Not part of equality.
    """

    value: list[NodeFile] | None = None
    odata_next_link: str | None = attrs.field(default=None, metadata={_WIRE_NAME: "odata.nextLink"})
    additional_properties: dict[str, Any] = attrs.field(factory=dict, eq=False)


def _install_all() -> None:
    # Every class is defined now, so the string annotations resolve: give each model its
    # validating __init__ and its lazily parsed datetime/duration fields (see _codegen).
    for name in __all__:
        cls = globals()[name]
        if _is_model(cls):
            attrs.resolve_types(cls, globals())
            _install(cls, structure_hook)


_install_all()
