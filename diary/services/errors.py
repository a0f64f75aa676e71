class ServiceError(Exception):
    """A request the service refuses; the API answers it with ``status`` and a JSON body."""

    status = 400

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if status is not None:
            self.status = status
