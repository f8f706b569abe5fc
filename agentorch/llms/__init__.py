"""Chat models for agentorch: the scripted test double, real models from the environment, and
cascades of models tried cheapest first."""

from agentorch._models import Cascade, RouteModel, cascade
from agentorch.llms._env import (
    ModelNotConfigured,
    from_env,
    model_configured,
    models_from_env,
    requests_blocked,
    role_env_var,
    structured_output_from_env,
)
from agentorch.llms._scripted import Response, Script, ScriptedCall, ScriptedChatModel

__all__ = [
    "Cascade",
    "ModelNotConfigured",
    "Response",
    "RouteModel",
    "Script",
    "ScriptedCall",
    "ScriptedChatModel",
    "cascade",
    "from_env",
    "model_configured",
    "models_from_env",
    "requests_blocked",
    "role_env_var",
    "structured_output_from_env",
]
