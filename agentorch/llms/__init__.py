"""Chat models for agentorch: the scripted test double, and real models from the environment."""

from agentorch.llms._env import (
    ModelNotConfigured,
    from_env,
    model_configured,
    models_from_env,
    requests_blocked,
    role_env_var,
)
from agentorch.llms._scripted import Response, Script, ScriptedCall, ScriptedChatModel

__all__ = [
    "ModelNotConfigured",
    "Response",
    "Script",
    "ScriptedCall",
    "ScriptedChatModel",
    "from_env",
    "model_configured",
    "models_from_env",
    "requests_blocked",
    "role_env_var",
]
