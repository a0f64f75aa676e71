class ServiceError(Exception):
    """A request the service refuses; the API answers it with ``status`` and a JSON body.

    ``field`` names the request field at fault (``image`` for an unreadable upload), so that the
    answer can say what is wrong field by field, like a serializer's ``errors``.
    """

    status = 400

    def __init__(
        self, message: str, *, code: str, status: int | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        if status is not None:
            self.status = status
