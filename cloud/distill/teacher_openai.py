"""A teacher behind any OpenAI-compatible endpoint (the cloud gateway by default), via the official client."""

from __future__ import annotations

from typing import Any

from frugalstack.cloud.distill.config import TeacherConfig
from frugalstack.cloud.distill.tasks import Task
from frugalstack.cloud.distill.teacher import Reply
from frugalstack.shared.errors import ConfigError, MissingDependencyError


class OpenAITeacher:
    """Greedy chat completions; asks for logprobs and stops asking when the server refuses them."""

    def __init__(self, cfg: TeacherConfig, base_url: str, api_key: str | None):
        try:
            import openai
        except ImportError:
            raise MissingDependencyError("openai", "distill", purpose="an OpenAI-compatible teacher") from None
        if not base_url:
            raise ConfigError("the OpenAI-compatible teacher needs teacher.base_url or cloud.url")
        self._openai = openai
        # retries are ours (counted per example); the client's own would hide them
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=cfg.timeout_s,
                                    max_retries=0)
        self.cfg = cfg
        self.logprobs = cfg.logprobs
        self.identity = f"openai:{base_url}:{cfg.model}"

    def ask(self, task: Task, messages: list[dict[str, str]]) -> Reply:
        kwargs: dict[str, Any] = {"model": self.cfg.model, "messages": messages, "temperature": 0.0,
                                  "max_tokens": self.cfg.max_tokens}
        if self.logprobs:
            kwargs["logprobs"] = True
        try:
            resp = self.client.chat.completions.create(**kwargs)
        except self._openai.BadRequestError:
            if not self.logprobs:
                raise
            self.logprobs = False  # this server does not do logprobs
            kwargs.pop("logprobs")
            resp = self.client.chat.completions.create(**kwargs)
        choice = resp.choices[0]
        token_lps = None
        lp = getattr(choice, "logprobs", None)
        if lp is not None and getattr(lp, "content", None):
            token_lps = [float(t.logprob) for t in lp.content]
        usage = resp.usage
        return Reply(text=choice.message.content or "", prompt_tokens=usage.prompt_tokens if usage else 0,
                     completion_tokens=usage.completion_tokens if usage else 0,
                     logprob=sum(token_lps) if token_lps else None, token_logprobs=token_lps)
