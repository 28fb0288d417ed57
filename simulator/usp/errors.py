"""USP error codes (TR-369 sections 3.1 and 1.3) paired with exception classes.

Hierarchy::

    Exception
    └── UspError                      carries error_code (an ErrorCode)
        ├── MessageFailedError        7000
        ├── MessageNotSupportedError  7001
        ├── RequestDeniedError        7002
        ├── InternalError             7003
        ├── InvalidArgumentsError     7004
        ├── ResourcesExceededError    7005
        ├── PermissionDeniedError     7006
        ├── InvalidConfigurationError 7007
        ├── InvalidPathSyntaxError    7008   (also raised by the path parser, with position)
        ├── ParameterActionFailedError 7009
        ├── UnsupportedParameterError 7010
        ├── InvalidTypeError          7011
        ├── InvalidValueError         7012
        ├── NotWritableError          7013
        ├── ValueConflictError        7014
        ├── OperationError            7015
        ├── ObjectNotFoundError       7016
        ├── ObjectNotCreatedError     7017
        ├── NotATableError            7018
        ├── NotCreatableError         7019
        ├── ObjectNotUpdatedError     7020
        ├── RequiredParameterFailedError 7021
        ├── CommandFailureError       7022
        ├── CommandCanceledError      7023
        ├── DeleteFailureError        7024
        ├── DuplicateKeyError         7025
        ├── InvalidPathError          7026
        ├── InvalidCommandArgumentsError 7027
        ├── RegisterFailureError      7028
        ├── AlreadyInUseError         7029
        ├── DeregisterFailureError    7030
        ├── PathAlreadyRegisteredError 7031
        └── RecordError               7100-7106 (record-level; see RecordNotParsedError ...)
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ErrorCode(IntEnum):
    """Every error code a USP endpoint puts in err_code or DisconnectRecord.reason_code."""

    MESSAGE_FAILED = 7000  # General failure, explained in err_msg.
    MESSAGE_NOT_SUPPORTED = 7001  # Message type or feature not understood (obuspa: malformed body too).
    REQUEST_DENIED = 7002  # Will not process: wrong-direction request type, refused command.
    INTERNAL_ERROR = 7003  # Agent-side fault.
    INVALID_ARGUMENTS = 7004  # Bad values in the request, empty/illegal oneof (R-ENC.5).
    RESOURCES_EXCEEDED = 7005  # Too many subscriptions/profiles, concurrent async refused.
    PERMISSION_DENIED = 7006  # The Controller's Role lacks the permission.
    INVALID_CONFIGURATION = 7007  # Processing would leave the device in an invalid state.
    INVALID_PATH_SYNTAX = 7008  # Path cannot be parsed.
    PARAMETER_ACTION_FAILED = 7009  # Generic parameter Set failure.
    UNSUPPORTED_PARAMETER = 7010  # The named parameter does not exist in that object.
    INVALID_TYPE = 7011  # Value cannot be parsed as the parameter's type.
    INVALID_VALUE = 7012  # Out of range, not in enumeration, invalid Alias.
    PARAMETER_READ_ONLY = 7013  # Attempt to update a non-writeable parameter.
    VALUE_CONFLICT = 7014  # Conflicts with other parameter values.
    OPERATION_ERROR = 7015  # Generic object-level CRUD failure.
    OBJECT_DOES_NOT_EXIST = 7016  # Instance-addressed object does not exist.
    OBJECT_NOT_CREATED = 7017  # Object could not be created.
    NOT_A_TABLE = 7018  # Path is not a multi-instance object.
    NOT_CREATABLE = 7019  # Attempt to create a non-creatable object.
    OBJECT_NOT_UPDATED = 7020  # Object-level Set failure.
    REQUIRED_PARAM_FAILED = 7021  # Object failed because a required parameter failed.
    COMMAND_FAILURE = 7022  # Command failed (obuspa: also when an Operate path is not a command).
    COMMAND_CANCELED = 7023  # Async command ended by Request.{i}.Cancel().
    DELETE_FAILURE = 7024  # Instance could not be deleted, or table is not deletable.
    DUPLICATE_KEY = 7025  # Object exists with duplicate unique key.
    INVALID_PATH = 7026  # Path not in the supported (or, for Get, instantiated) data model.
    INVALID_COMMAND_ARGS = 7027  # Missing mandatory input or bad argument value.
    REGISTER_FAILURE = 7028  # Register failed.
    ALREADY_IN_USE = 7029  # Path already registered by another endpoint.
    DEREGISTER_FAILURE = 7030  # Deregister failed.
    PATH_ALREADY_REGISTERED = 7031  # Path owned by another endpoint.
    RECORD_NOT_PARSED = 7100  # Record could not be parsed.
    SECURE_SESSION_REQUIRED = 7101  # Secure session required.
    SECURE_SESSION_NOT_SUPPORTED = 7102  # Secure session not supported.
    SAR_NOT_SUPPORTED = 7103  # Segmentation and reassembly not supported.
    INVALID_RECORD_VALUE = 7104  # Invalid Record value.
    SESSION_CONTEXT_TERMINATED = 7105  # Session Context terminated.
    SESSION_CONTEXT_NOT_ALLOWED = 7106  # Session Context not allowed / not supported.


class UspError(Exception):
    """Root of every USP protocol fault; carries the code that goes on the wire."""

    error_code: ClassVar[ErrorCode] = ErrorCode.MESSAGE_FAILED

    def __init__(self, message: str = "", *, path: str | None = None, code: int | None = None) -> None:
        super().__init__(message or self.error_code.name.replace("_", " ").capitalize())
        self.path = path
        """Path the fault concerns, when there is one (used for param_errs / err paths)."""
        self._code = code

    @property
    def message(self) -> str:
        """The human-readable err_msg."""
        return str(self.args[0])

    @property
    def code(self) -> int:
        """The numeric error code (instances may override the class default)."""
        return int(self.error_code) if self._code is None else self._code




class MessageFailedError(UspError):
    """7000: general failure."""

    error_code = ErrorCode.MESSAGE_FAILED


class MessageNotSupportedError(UspError):
    """7001: message type or feature not understood."""

    error_code = ErrorCode.MESSAGE_NOT_SUPPORTED


class RequestDeniedError(UspError):
    """7002: the agent will not process this request."""

    error_code = ErrorCode.REQUEST_DENIED


class InternalError(UspError):
    """7003: agent-side fault."""

    error_code = ErrorCode.INTERNAL_ERROR


class InvalidArgumentsError(UspError):
    """7004: bad values in the request."""

    error_code = ErrorCode.INVALID_ARGUMENTS


class ResourcesExceededError(UspError):
    """7005: resources exceeded."""

    error_code = ErrorCode.RESOURCES_EXCEEDED


class PermissionDeniedError(UspError):
    """7006: the Controller's role lacks the permission."""

    error_code = ErrorCode.PERMISSION_DENIED


class InvalidConfigurationError(UspError):
    """7007: would leave the device in an invalid state."""

    error_code = ErrorCode.INVALID_CONFIGURATION


class InvalidPathSyntaxError(UspError):
    """7008: the path cannot be parsed.

    Attributes:
        text: the path string that failed.
        position: zero-based character offset of the fault.
        reason: what was expected there.
    """

    error_code = ErrorCode.INVALID_PATH_SYNTAX

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"Invalid path syntax at position {position} of {text!r}: {reason}", path=text)
        self.text = text
        self.position = position
        self.reason = reason


class ParameterActionFailedError(UspError):
    """7009: generic parameter set failure."""

    error_code = ErrorCode.PARAMETER_ACTION_FAILED


class UnsupportedParameterError(UspError):
    """7010: the parameter does not exist in that object."""

    error_code = ErrorCode.UNSUPPORTED_PARAMETER


class InvalidTypeError(UspError):
    """7011: the value cannot be parsed as the parameter's type."""

    error_code = ErrorCode.INVALID_TYPE


class InvalidValueError(UspError):
    """7012: out of range, not in the enumeration, or invalid Alias."""

    error_code = ErrorCode.INVALID_VALUE


class NotWritableError(UspError):
    """7013: attempt to update a non-writeable parameter."""

    error_code = ErrorCode.PARAMETER_READ_ONLY


class ValueConflictError(UspError):
    """7014: conflicts with other parameter values."""

    error_code = ErrorCode.VALUE_CONFLICT


class OperationError(UspError):
    """7015: generic object-level CRUD failure."""

    error_code = ErrorCode.OPERATION_ERROR


class ObjectNotFoundError(UspError):
    """7016: an instance-addressed object does not exist."""

    error_code = ErrorCode.OBJECT_DOES_NOT_EXIST


class ObjectNotCreatedError(UspError):
    """7017: the object could not be created."""

    error_code = ErrorCode.OBJECT_NOT_CREATED


class NotATableError(UspError):
    """7018: the path is not a multi-instance object."""

    error_code = ErrorCode.NOT_A_TABLE


class NotCreatableError(UspError):
    """7019: attempt to create a non-creatable object."""

    error_code = ErrorCode.NOT_CREATABLE


class ObjectNotUpdatedError(UspError):
    """7020: object-level Set failure."""

    error_code = ErrorCode.OBJECT_NOT_UPDATED


class RequiredParameterFailedError(UspError):
    """7021: the object failed because a required parameter failed."""

    error_code = ErrorCode.REQUIRED_PARAM_FAILED


class CommandFailureError(UspError):
    """7022: the command failed."""

    error_code = ErrorCode.COMMAND_FAILURE


class CommandCanceledError(UspError):
    """7023: async command canceled."""

    error_code = ErrorCode.COMMAND_CANCELED


class DeleteFailureError(UspError):
    """7024: the instance could not be deleted."""

    error_code = ErrorCode.DELETE_FAILURE


class DuplicateKeyError(UspError):
    """7025: an object exists with the same unique key."""

    error_code = ErrorCode.DUPLICATE_KEY


class InvalidPathError(UspError):
    """7026: the path is not in the data model."""

    error_code = ErrorCode.INVALID_PATH


class InvalidCommandArgumentsError(UspError):
    """7027: missing mandatory input argument or a bad argument value."""

    error_code = ErrorCode.INVALID_COMMAND_ARGS


class RegisterFailureError(UspError):
    """7028: register failure."""

    error_code = ErrorCode.REGISTER_FAILURE


class AlreadyInUseError(UspError):
    """7029: path already registered."""

    error_code = ErrorCode.ALREADY_IN_USE


class DeregisterFailureError(UspError):
    """7030: deregister failure."""

    error_code = ErrorCode.DEREGISTER_FAILURE


class PathAlreadyRegisteredError(UspError):
    """7031: path owned by another endpoint."""

    error_code = ErrorCode.PATH_ALREADY_REGISTERED


class RecordError(UspError):
    """A Record-level fault (7100-7106); its code goes in a DisconnectRecord or Record Error."""

    error_code = ErrorCode.RECORD_NOT_PARSED

    def __init__(self, message: str = "", *, code: ErrorCode = ErrorCode.RECORD_NOT_PARSED) -> None:
        super().__init__(message, code=code)


class RecordNotParsedError(RecordError):
    """7100: bytes that do not decode as a USP Record (a remote protocol error)."""


_BY_CODE: dict[int, type[UspError]] = {
    cls.error_code: cls
    for cls in (
        MessageFailedError, MessageNotSupportedError, RequestDeniedError, InternalError,
        InvalidArgumentsError, ResourcesExceededError, PermissionDeniedError, InvalidConfigurationError,
        ParameterActionFailedError, UnsupportedParameterError, InvalidTypeError, InvalidValueError,
        NotWritableError, ValueConflictError, OperationError, ObjectNotFoundError, ObjectNotCreatedError,
        NotATableError, NotCreatableError, ObjectNotUpdatedError, RequiredParameterFailedError,
        CommandFailureError, CommandCanceledError, DeleteFailureError, DuplicateKeyError, InvalidPathError,
        InvalidCommandArgumentsError, RegisterFailureError, AlreadyInUseError, DeregisterFailureError,
        PathAlreadyRegisteredError,
    )
}


def error_for_code(code: int, message: str = "", *, path: str | None = None) -> UspError:
    """Build the exception matching a numeric code (vendor and unknown codes keep their number)."""
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls(message, path=path)
    return UspError(message or f"Error {code}", path=path, code=code)
