"""Prompt-injection heuristics, Chinese and English: role-override phrases, fake system / role
markers, requests for the hidden prompt, text addressed to an AI reader, encoded payloads,
hidden characters and token spam.

Each rule has a weight; a text's score is its strongest rule's. The phrases need the object of
the override ("ignore the previous *instructions*", 忽略之前的*指令*), so that look-alikes
such as 「请忽略文中的错别字」 or "ignore air resistance" pass.
"""

from __future__ import annotations

import base64
import binascii
import re

_X = re.I | re.M
_OBJ_EN = r"(?:instructions?|prompts?|rules|directions|guidelines|programming|constraints|restrictions|policies|commands?|directives?)"
_OBJ_ZH = r"(?:指令|指示|规则|设定|要求|提示|命令|限制|约束|安全策略|策略|政策|对话|角色)"
_PRIOR_ZH = r"(?:之前|以上|上面|前面|先前|此前|原来|原有|原先|所有|全部|一切|你的|系统|既定|初始)"
_NOT_ZH = r"[^，。！？\n]"

_VERB_EN = r"\b(?:ignore|disregard|forget|override|bypass|neglect)\b"
RULES: list[tuple[str, float, re.Pattern[str]]] = [
    ("override", 0.95, re.compile(
        rf"{_VERB_EN}\s+(?:(?:all|any|the|your|my|these|those|of)\s+)*"
        rf"(?:(?:previous|prior|above|earlier|preceding|initial|original|system|safety|existing|current)\s+)*{_OBJ_EN}\b", _X)),
    ("override", 0.9, re.compile(rf"{_VERB_EN}(?:\s+[\w'-]+){{0,4}}?\s+{_OBJ_EN}\b", _X)),
    ("override", 0.9, re.compile(
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything|what)?\s*(?:(?:that\s+)?(?:was\s+)?(?:said|written|stated)\s+)?"
        r"(?:the\s+)?(?:above|before|previously|prior|you(?:'ve| have| were)? (?:been )?(?:told|taught|learned)|you learned)\b"
        r"|\bignore (?:the )?user'?s? (?:question|request|message)|\bstop everything\b|\bnevermind\.? ignore\b", _X)),
    ("override", 0.95, re.compile(rf"(?:忽略|无视|忘记|忘掉|忘了|不要理会|不要遵守|不用管|别管|抛开|撤销|作废|覆盖|跳过|不再遵守|重置|清除|清空)"
                                   rf"{_NOT_ZH}{{0,12}}{_PRIOR_ZH}{_NOT_ZH}{{0,8}}{_OBJ_ZH}", _X)),
    ("override", 0.95, re.compile(rf"{_PRIOR_ZH}{_NOT_ZH}{{0,4}}{_OBJ_ZH}{_NOT_ZH}{{0,6}}(?:作废|无效|不再适用|失效|取消|都不算)", _X)),
    ("override", 0.9, re.compile(r"(?:忽略|无视|关闭|绕过|撤销|解除)(?:所有|全部|一切)?(?:的)?(?:安全|内容)(?:策略|政策|限制|规则|过滤|审查)"
                                  r"|(?:不要回答|别回答|忽略)(?:用户的?|原)?(?:问题|提问)|不管用户(?:问|说)什么|用户不重要|听我的[:：，,]"
                                  r"|忽略(?:文档|文章|资料|网页|上面|以上|前面|之前)(?:的)?(?:所有|全部)?内容|最高优先级(?:的)?指令", _X)),
    ("role", 0.9, re.compile(
        r"\b(?:you are now|from now on,? you(?:'re| are| will| must)|you(?:'re| are) (?:now )?(?:jailbroken|unrestricted|unfiltered|free of))"
        r"|\bpretend (?:that )?(?:you are|you're|to be) (?:an? )?(?:ai|model|assistant|dan|unrestricted|evil|uncensored|without)"
        r"|\byou (?:are|'re) (?:going|about) to (?:pretend|act|immerse|roleplay|play the role|become)"
        r"|\bthe role of (?:another |an? )?(?:\w+ )?(?:ai|language model|chatbot)\b|\bstop being (?:an? )?(?:ai|assistant|chatbot)"
        r"|\bact as (?:an? )?(?:\w+ )?(?:ai|assistant|model)? ?(?:without|with no) (?:any )?(?:restrictions|rules|limits|filters|ethics)"
        r"|\b(?:enable|enter|activate|in|into) developer mode\b|\bdo anything now\b|\bjailbr(?:eak|oken)\b"
        r"|\bno (?:longer )?(?:bound|restricted) by\b|\bbroken free of\b|\bfree (?:from|of) the (?:typical )?confines\b", _X)),
    ("role", 0.9, re.compile(r"\bDAN\b|\bDUDE\b|\bSTAN\b")),
    ("role", 0.45, re.compile(r"\bdeveloper mode\b", _X)),
    ("role", 0.9, re.compile(rf"(?:你现在是|你现在的身份|从(?:现在|这一刻|今天)(?:开始|起)[，,]?你|你的新(?:身份|角色|设定)|你不再是"
                              rf"|(?:扮演|假装|作为){_NOT_ZH}{{0,10}}(?:没有|不受|无|不存在){_NOT_ZH}{{0,6}}(?:限制|约束|规则|过滤|审查|道德)"
                              rf"|不受任何{_NOT_ZH}{{0,6}}(?:限制|约束)|没有任何(?:限制|过滤|审查|约束)|无限制模式|停止扮演"
                              rf"|(?:进入|开启|切换到|处于|打开){_NOT_ZH}{{0,4}}(?:开发者|调试|上帝|越狱|无限制)模式|越狱)", _X)),
    ("extraction", 0.9, re.compile(
        r"\b(?:reveal|print|show|repeat|output|leak|tell me|display|translate|dump|give me)\b[^.\n]{0,30}"
        r"\b(?:system prompt|initial prompt|hidden (?:instructions|prompt)|your (?:instructions|prompt|rules|system message)"
        r"|original (?:instructions|prompt)|secret (?:key|instructions)|the (?:prompt|instructions) (?:above|you were given)"
        r"|(?:admin|root) password)", _X)),
    ("extraction", 0.9, re.compile(rf"(?:输出|打印|告诉我|显示|泄露|复述|透露|翻译|给我看|说出|发给我){_NOT_ZH}{{0,14}}"
                                    rf"(?:系统提示|提示词|系统消息|初始(?:设定|指令|提示)|隐藏(?:的)?(?:提示|指令)|内部配置|秘密指令"
                                    rf"|最初收到的指令|原始指令|密钥|系统指令)"
                                    rf"|(?:系统提示|提示词|系统消息|秘密指令|初始指令|系统指令|隐藏(?:的)?(?:提示|指令)){_NOT_ZH}{{0,12}}"
                                    rf"(?:打印|输出|复述|翻译|告诉|显示|透露|泄露|发给)", _X)),
    ("marker", 0.9, re.compile(r"<\|im_start\|>|<\|im_end\|>|<\|(?:system|assistant|user)\|>|\[/?INST\]|<</?SYS>>|</s>\s*<s>"
                               r"|^\s*#{2,}\s*(?:system|instruction|new instructions?)\b|【系统】|\[system\]"
                               r"|系统(?:消息|通知|指令|提示)\s*[:：]|管理员(?:命令|指令)\s*[:：]", _X)),
    ("marker", 0.7, re.compile(r"^\s*(?:system|assistant)\s*:\s*\S", re.M | re.I)),
    ("addressed", 0.9, re.compile(r"\b(?:ai|assistant|language model|llm|chatbot|model)s?\b[^.\n]{0,25}\b(?:reading|reads|sees) this\b"
                                  r"|\bwhen (?:an? )?(?:ai|assistant|language model|llm)\b[^.\n]{0,20}\b(?:reads|processes|sees)\b"
                                  r"|^\s*(?:assistant|ai|chatgpt|model)\s*[,，:：]\s*(?:call|use|send|ignore|visit|tell|output)\b"
                                  r"|(?:读到|看到)(?:这|此)\S{0,8}(?:AI|模型|助手|机器人)|(?:AI|模型|助手|机器人)\S{0,4}请注意", _X)),
    ("new_task", 0.6, re.compile(r"\b(?:new|updated|real|actual|true)\s+(?:instructions?|task|rules|system prompt|role)\b\s*(?:is|are|:)"
                                 r"|(?:新的|真正的|以下是新的|新)(?:系统)?(?:指令|任务|设定|规则)(?:是|如下|[:：])"
                                 r"|\b(?:just|only) (?:say|print|output|write|reply with|respond with)\s*[\"“']", _X)),
    ("exfiltration", 0.6, re.compile(r"!\[[^\]]*\]\(https?://[^)\s]*\?[^)\s]*=|(?:发送|转发|发到|send|forward|email)\S{0,10}\s?"
                                     r"(?:to\s+)?[\w.+-]+@[\w-]+\.[\w.]+", _X)),
]
_B64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HIDDEN = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\U000e0000-\U000e007f]")
_SPAM = re.compile(r"(\s*\S{3,12}\s*)\1{19,}", re.S)  # a word-sized unit 20 times or more in a row
CUE = re.compile(r"ignore|disregard|forget|instruction|prompt|system|pretend|act as|you are|rules?\b|override|jailbreak|"
                 r"developer|assistant|\bAI\b|model|忽略|无视|忘|指令|指示|提示|系统|扮演|假装|你现在|规则|设定|限制|模式|助手|"
                 r"模型|命令|管理员|授权|作废|身份", re.I)


def rules(text: str) -> list[tuple[str, float, int, int]]:
    """The rules a text trips: (rule, weight, start, end)."""
    out = []
    for name, weight, rx in RULES:
        m = rx.search(text)
        if m:
            out.append((name, weight, m.start(), m.end()))
    for m in _B64.finditer(text):
        decoded = _decode(m.group(0))
        if decoded and any(rx.search(decoded) for _n, w, rx in RULES if w >= 0.9):
            out.append(("encoded", 0.9, m.start(), m.end()))
            break
    hidden = _HIDDEN.findall(text)
    if len(hidden) >= 3:
        first = _HIDDEN.search(text)
        out.append(("hidden", 0.8, first.start() if first else 0, first.end() if first else 0))
    if (m := _SPAM.search(text)) is not None:
        out.append(("spam", 0.45, m.start(), m.end()))  # a cue for the e5 head, not a flag on its own
    return out


def _decode(blob: str) -> str | None:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if sum(ch.isprintable() for ch in text) >= 0.9 * len(text) else None


def score(text: str) -> tuple[float, list[tuple[str, float, int, int]]]:
    hits = rules(text)
    return (max(w for _n, w, _s, _e in hits) if hits else 0.0), hits
