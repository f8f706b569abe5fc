"""Chat models for agentorch: the scripted test double, and configuration of real models."""

from agentorch.llms._scripted import Response, Script, ScriptedCall, ScriptedChatModel

__all__ = ["ScriptedChatModel", "ScriptedCall", "Response", "Script"]
