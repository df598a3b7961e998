"""Empty stand-in for `soundfile` (SGLang's audio endpoints import it at start; the demo sends no audio)."""


def __getattr__(name: str) -> object:
    raise AttributeError(f"soundfile stand-in: {name} is not available on the live test servers")
