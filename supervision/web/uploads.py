"""Reading statement uploads: a JSON or bare CSV body, or a ``multipart/form-data`` form with a CSV file;
used by the escrow API and the portal. The size limit is the application's, per path (``supervision.main``):
a body larger than it stops the request with 413 while it is read."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from supervision.core.errors import Invalid, Problem, TooLarge


async def read_body(request: Request) -> bytes:
    """The whole body of a statement."""
    return await request.body()


@dataclass(frozen=True)
class CsvUpload:
    data: bytes
    form: dict[str, str]
    filename: str


async def read_csv_upload(request: Request) -> CsvUpload:
    """A CSV statement: ``multipart/form-data`` with a ``file`` part and summary fields, or a bare CSV body
    (``text/csv``) carrying its summary in a leading comment block."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return CsvUpload(await read_body(request), {}, "statement.csv")
    parser = MultiPartParser(
        request.headers, request.stream(), max_files=1, max_fields=40, max_part_size=64 * 1024
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid("the upload cannot be read", [Problem("$", exc.message)]) from None
    upload = form.get("file")
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    try:
        if not isinstance(upload, UploadFile):
            raise Invalid(
                "no CSV file in the upload", [Problem("file", "required: the statement lines as CSV")]
            )
        data = await upload.read()
        return CsvUpload(data, fields, upload.filename or "statement.csv")
    finally:
        await form.close()


@dataclass(frozen=True)
class FileUpload:
    data: bytes
    filename: str


async def read_file_upload(request: Request, max_bytes: int) -> FileUpload:
    """One file from a ``multipart/form-data`` form (its ``file`` part): an evidence photo or PDF. Reading
    stops as soon as the file is larger than ``max_bytes`` (413)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid(
            "send the file as multipart/form-data", [Problem("file", "a multipart form with a file")]
        )
    parser = MultiPartParser(
        request.headers, request.stream(), max_files=1, max_fields=10, max_part_size=64 * 1024
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid("the upload cannot be read", [Problem("file", exc.message)]) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("no file in the upload", [Problem("file", "required: the evidence file")])
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(f"a file is at most {max_bytes} bytes")
        return FileUpload(data, upload.filename or "file")
    finally:
        await form.close()


@dataclass(frozen=True)
class FilesForm:
    """A ``multipart/form-data`` form with text fields and any number of files (up to a limit)."""

    fields: dict[str, str]
    files: list[FileUpload]


class _CappedParser(MultiPartParser):
    """Stops reading the moment one file part grows past ``max_file_bytes`` (:class:`TooLarge`), so a large
    file is never spooled whole; text fields keep Starlette's ``max_part_size``."""

    def __init__(self, request: Request, *, max_file_bytes: int, max_files: int, max_part_size: int) -> None:
        super().__init__(
            request.headers,
            request.stream(),
            max_files=max_files,
            max_fields=20,
            max_part_size=max_part_size,
        )
        self.max_file_bytes = max_file_bytes
        self._file_bytes = 0

    def on_part_begin(self) -> None:
        super().on_part_begin()
        self._file_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is not None:
            self._file_bytes += end - start
            if self._file_bytes > self.max_file_bytes:
                raise TooLarge(f"a file is at most {self.max_file_bytes} bytes")
        super().on_part_data(data, start, end)


async def read_files_form(
    request: Request, *, field: str, max_file_bytes: int, max_files: int, max_part_size: int = 128 * 1024
) -> FilesForm:
    """The text fields and the files of ``field`` (a file input that may hold several) of a multipart
    form. Reading stops as soon as one file passes ``max_file_bytes`` (413) or the form holds more than
    ``max_files`` files; an empty file input (no file chosen) gives no file. A form sent url-encoded has
    fields only."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=0, max_fields=20)
        try:
            return FilesForm({k: v for k, v in form.multi_items() if isinstance(v, str)}, [])
        finally:
            await form.close()
    parser = _CappedParser(
        request, max_file_bytes=max_file_bytes, max_files=max_files, max_part_size=max_part_size
    )
    try:
        parsed = await parser.parse()
    except MultiPartException as exc:
        raise Invalid("the form cannot be read", [Problem(field, exc.message)]) from None
    try:
        files: list[FileUpload] = []
        for upload in parsed.getlist(field):
            if isinstance(upload, UploadFile) and upload.filename:
                files.append(FileUpload(await upload.read(max_file_bytes + 1), upload.filename))
        fields = {k: v for k, v in parsed.multi_items() if isinstance(v, str)}
        return FilesForm(fields, files)
    finally:
        await parsed.close()
