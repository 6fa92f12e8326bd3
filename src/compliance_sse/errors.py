"""The service's exceptions. Each carries a machine ``code`` and an HTTP status hint.

The error middleware turns a hint into a response before a stream starts; after
it has started, the pipeline turns the same error into an ``error`` event. No
handler builds an error response itself, and no exception text reaches a client:
``detail`` is a sentence written for a person.

    ComplianceError
    ├── RequestError                 the peer's fault, before anything runs
    │   ├── Unauthorized             401 unauthorized
    │   ├── NotFound                 404 not_found
    │   ├── JobExpired               410 job_expired
    │   ├── UploadTooLarge           413 upload_too_large
    │   ├── MissingFile              400 missing_file
    │   ├── BadRequest               400 bad_request / invalid_last_event_id
    │   ├── NotAPdf                  415 not_a_pdf
    │   ├── UnsupportedEncoding      415 unsupported_encoding: a compressed request body
    │   ├── UploadTimeout            408 upload_timeout: the body stopped coming
    │   ├── TooManyRequests          429 too_many_requests (Retry-After): a tenant's limit
    │   └── Overloaded               503 overloaded (Retry-After)
    ├── DocumentError                422: the document cannot be analysed
    │   ├── InvalidPdf               invalid_pdf
    │   ├── PasswordRequired         password_required
    │   ├── WrongPassword            wrong_password
    │   ├── NoText                   no_text
    │   ├── TooManyPages             too_many_pages
    │   └── ExtractTimeout           extract_timeout
    ├── AnalyzerUnavailable          502 analyzer_unavailable (retryable or not)
    ├── BrokerUnavailable            503 broker_unavailable (retryable)
    ├── JobLost                      503 job_lost (retryable): the broker lost the job's state
    └── InternalError                500 internal
"""

from __future__ import annotations

__all__ = [
    "AnalyzerUnavailable",
    "BadRequest",
    "BrokerUnavailable",
    "ComplianceError",
    "DocumentError",
    "ExtractTimeout",
    "InternalError",
    "InvalidPdf",
    "JobExpired",
    "JobLost",
    "MissingFile",
    "NoText",
    "NotAPdf",
    "NotFound",
    "Overloaded",
    "PasswordRequired",
    "RequestError",
    "TooManyPages",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedEncoding",
    "UploadTimeout",
    "UploadTooLarge",
    "WrongPassword",
    "error_for_code",
]


class ComplianceError(Exception):
    """Base of every error the service reports. ``str(exc)`` is the ``detail``."""

    code: str = "internal"
    status: int = 500
    retryable: bool = False
    default_detail: str = "Something went wrong on our side; it has been logged."

    def __init__(self, detail: str | None = None, *, code: str | None = None, retryable: bool | None = None) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.detail)

    def to_dict(self, request_id: str | None = None) -> dict[str, object]:
        body: dict[str, object] = {"detail": self.detail, "code": self.code}
        if request_id is not None:
            body["request_id"] = request_id
        return body

    def response_headers(self) -> dict[str, str]:
        """Headers the HTTP answer to this error carries (``Retry-After``, ``WWW-Authenticate``)."""
        retry_after = getattr(self, "retry_after", None)
        return {"Retry-After": str(retry_after)} if retry_after is not None else {}


class RequestError(ComplianceError):
    status = 400
    code = "bad_request"
    default_detail = "The request is not valid."


class Unauthorized(RequestError):
    status = 401
    code = "unauthorized"
    default_detail = "A valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."

    def response_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="compliance-sse"'}


class NotFound(RequestError):
    status = 404
    code = "not_found"
    default_detail = "No such job."


class JobExpired(RequestError):
    status = 410
    code = "job_expired"
    default_detail = "This job has expired; its events and report are no longer kept."


class UploadTooLarge(RequestError):
    status = 413
    code = "upload_too_large"
    default_detail = "The upload is larger than the service accepts."


class MissingFile(RequestError):
    status = 400
    code = "missing_file"
    default_detail = "Send the PDF as a multipart/form-data field named 'file'."


class BadRequest(RequestError):
    status = 400
    code = "bad_request"


class NotAPdf(RequestError):
    status = 415
    code = "not_a_pdf"
    default_detail = "The file is not a PDF: no '%PDF-' header in its first 1024 bytes."


class UnsupportedEncoding(RequestError):
    status = 415
    code = "unsupported_encoding"
    default_detail = "Compressed request bodies are not accepted; send the PDF as it is."


class UploadTimeout(RequestError):
    status = 408
    code = "upload_timeout"
    default_detail = "The upload stopped sending data; send it again."


class Overloaded(RequestError):
    status = 503
    code = "overloaded"
    retryable = True
    default_detail = "The service is busy with other documents; retry after the delay in Retry-After."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TooManyRequests(Overloaded):
    status = 429
    code = "too_many_requests"
    default_detail = "Your tenant has reached its limit of running jobs or open streams; retry after Retry-After."


class DocumentError(ComplianceError):
    status = 422
    code = "invalid_pdf"


class InvalidPdf(DocumentError):
    code = "invalid_pdf"
    default_detail = "The PDF is damaged or malformed and cannot be read."


class PasswordRequired(DocumentError):
    code = "password_required"
    default_detail = "The PDF is encrypted with a password; send it in the 'password' field."


class WrongPassword(DocumentError):
    code = "wrong_password"
    default_detail = "The password does not open this PDF."


class NoText(DocumentError):
    code = "no_text"
    default_detail = "No text could be extracted from any page; the PDF may be scanned images. Run OCR first."


class TooManyPages(DocumentError):
    code = "too_many_pages"
    default_detail = "The PDF has more pages than the service accepts."


class ExtractTimeout(DocumentError):
    code = "extract_timeout"
    default_detail = "Extracting the text took longer than the service allows."


class AnalyzerUnavailable(ComplianceError):
    status = 502
    code = "analyzer_unavailable"
    default_detail = "The language model could not analyse the document."


class BrokerUnavailable(ComplianceError):
    status = 503
    code = "broker_unavailable"
    retryable = True
    retry_after = 5
    default_detail = "The service's job store is unreachable; retry shortly."


class JobLost(ComplianceError):
    status = 503
    code = "job_lost"
    retryable = True
    default_detail = "The service lost this job's state (its store restarted empty); upload the document again."


class InternalError(ComplianceError):
    status = 500
    code = "internal"


def _subclasses(cls: type[ComplianceError]) -> list[type[ComplianceError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def error_for_code(code: str, detail: str | None = None, *, retryable: bool | None = None) -> ComplianceError:
    """Rebuild the error a job ended with from its ``error`` event (for ``POST /analyze``)."""
    for cls in _subclasses(ComplianceError):
        if cls.__dict__.get("code") == code and cls is not BadRequest:
            return cls(detail, retryable=retryable) if not issubclass(cls, Overloaded) else cls(detail)
    return InternalError(detail, code=code, retryable=retryable)
