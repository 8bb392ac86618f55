"""Templates: roles, variables, few-shot blocks, sandboxing, versioned files."""

from __future__ import annotations

import numpy as np
import pytest

from lingxi.errors import ConfigError
from lingxi.prompts import ExampleSelector, PromptTemplate, TemplateLibrary, load_template, mmr
from lingxi.prompts.examples import top_similar


def sentiment() -> PromptTemplate:
    return PromptTemplate(
        messages=[("system", "你是{{ role }}。"), "examples", ("user", "评论：{{ text }}")],
        few_shot=("评论：{{ input }}", "{{ output }}"),
        examples=[{"input": "太好吃了", "output": "好评"}, {"input": "送餐太慢", "output": "差评"}],
        name="sentiment", version="2", defaults={"role": "情感分析助手"},
    )


def test_render_roles_variables_and_few_shot_turns():
    msgs = sentiment().render(text="味道一般")
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0].content == "你是情感分析助手。"
    assert msgs[1].content == "评论：太好吃了" and msgs[2].content == "好评"
    assert msgs[-1].content == "评论：味道一般"


def test_selected_examples_override_and_inline_examples_variable():
    t = sentiment()
    msgs = t.render(examples=[{"input": "一般", "output": "差评"}], text="x", role="助手")
    assert len(msgs) == 4 and msgs[1].content == "评论：一般" and msgs[0].content == "你是助手。"
    inline = PromptTemplate.from_text("{% for e in examples %}{{ e.q }}={{ e.a }};{% endfor %}{{ q }}=",
                                      examples=[{"q": "1+1", "a": "2"}])
    assert inline.format(q="2+2") == "1+1=2;2+2="


def test_missing_variable_is_a_sentence_naming_it():
    with pytest.raises(ConfigError, match="text"):
        sentiment().render()
    assert sentiment().variables == {"role", "text"}


def test_sandbox_blocks_python_internals():
    evil = PromptTemplate.from_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match="sandbox"):
        evil.render()


def test_syntax_error_and_bad_role_are_config_errors():
    with pytest.raises(ConfigError, match="syntax"):
        PromptTemplate.from_text("{{ oops").render()
    with pytest.raises(ConfigError, match="role"):
        PromptTemplate(messages=[("robot", "hi")])


def test_file_round_trip_and_library_versions(tmp_path):
    t = sentiment()
    t.save(tmp_path / "sentiment_v2.yaml")
    old = PromptTemplate.from_text("旧版：{{ text }}", name="sentiment", version="1")
    old.save(tmp_path / "sentiment_v1.json")
    back = load_template(tmp_path / "sentiment_v2.yaml")
    assert back.version == "2" and back.fingerprint == t.fingerprint
    assert back.render(text="好") == t.render(text="好")
    lib = TemplateLibrary(tmp_path)
    assert lib.versions("sentiment") == ["1", "2"]
    assert lib.get("sentiment").version == "2"
    assert lib.get("sentiment", 1).render(text="好")[0].content == "旧版：好"
    with pytest.raises(ConfigError, match="available: sentiment@1, sentiment@2"):
        lib.get("nope")


def test_file_with_unknown_field_is_refused(tmp_path):
    (tmp_path / "bad.yaml").write_text("prompt: hi\ntemprature: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="temprature"):
        load_template(tmp_path / "bad.yaml")


def test_mmr_prefers_diverse_examples_over_near_duplicates():
    q = np.array([1.0, 0.0, 0.0])
    cands = np.array([[0.9, 0.1, 0.0], [0.9, 0.11, 0.0], [0.6, 0.0, 0.8]])
    assert top_similar(q, cands, 2) == [0, 1]
    assert mmr(q, cands, 2, lambda_=0.5) == [0, 2]
    assert mmr(q, cands, 2, lambda_=1.0) == [0, 1]


class KeywordEmbedder:
    """A tiny deterministic embedder: one dimension per keyword."""

    name = "kw"
    words = ("好吃", "慢", "贵")

    def embed(self, texts, kind="passage"):
        return np.array([[float(w in t) for w in self.words] + [0.1] for t in texts])


def test_selector_by_similarity_and_mmr():
    ex = [{"input": "好吃", "output": "好评"}, {"input": "真好吃", "output": "好评"},
          {"input": "太慢", "output": "差评"}, {"input": "贵", "output": "差评"}]
    sel = ExampleSelector(ex, embedder=KeywordEmbedder())
    assert [e["input"] for e in sel.select("好吃吗", k=2)] == ["好吃", "真好吃"]
    assert [e["input"] for e in sel.select("好吃但慢", k=2, method="mmr")] == ["好吃", "太慢"]
    with pytest.raises(ConfigError, match="'input'"):
        ExampleSelector([{"q": 1}])
