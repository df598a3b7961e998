"""Empty stand-in for `datasets` (only SGLang's benchmark loaders use it); never called by a server."""


def __getattr__(name: str) -> object:
    raise AttributeError(f"datasets stand-in: {name} is not available on the live test servers")
