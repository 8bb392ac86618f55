"""Pure functions of the pipeline: sentence/citation splitting, token-aware fitting, support scores."""

from __future__ import annotations

from lingxi.models.scripted import ScriptedChat
from lingxi.rag.answer import Source, Thresholds
from lingxi.rag.context import fit, format_source
from lingxi.rag.lang import detect
from lingxi.rag.verify import cross_lingual_facts, lexical_support, render, split_claims, supports


def test_split_claims_chinese_and_english_markers():
    claims = split_claims("灵犀可以离线运行[1]。它支持 GGUF 模型【2】！It serves HTTP. [3] Also [1, 2] and [^4].")
    assert [c.text for c in claims] == ["灵犀可以离线运行。", "它支持 GGUF 模型！", "It serves HTTP.", "Also and."]
    assert [c.cited for c in claims] == [[1], [2], [3], [1, 2, 4]]


def test_a_doubled_marker_is_one_citation_and_leaves_no_brackets():
    """A tuned SmolLM2 writes "…部门的[[1]]。": the sentence cites 1 and shows no "[]" (it once rendered "的[][2]")."""
    from lingxi.rag.verify import strip_markers

    (c,) = split_claims("乌尔巴克齿龙的正模标本是个长79.2公分的齿骨[[1]]。")
    assert c.cited == [1] and "[" not in c.text and "]" not in c.text
    assert strip_markers("in 1990 [[2]].") == "in 1990 ."


def test_render_puts_markers_before_the_end_mark():
    from lingxi.rag.answer import SentenceVerdict

    vs = [SentenceVerdict(text="灵犀可以离线运行。", citations=[1, 2], verdict="supported"),
          SentenceVerdict(text="编造的。", verdict="unsupported")]
    assert render(vs, "zh") == "灵犀可以离线运行[1][2]。"
    assert render(vs, "zh", "mark") == "灵犀可以离线运行[1][2]。编造的[?]。"


def test_fit_is_token_aware_and_cuts_at_sentences():
    model = ScriptedChat()
    long = Source(n=2, chunk_id="b", source="b", text="One two three. Four five six. Seven eight nine.")
    first = Source(n=1, chunk_id="a", source="a", text="Alpha beta gamma.")
    need = model.count_tokens(format_source(first)) + 1
    cut = model.count_tokens(format_source(long.model_copy(update={"text": "One two three."}))) + 1
    kept = fit([first, long], model, need + cut)
    assert [s.n for s in kept] == [1, 2] and kept[1].text == "One two three."
    assert [s.n for s in fit([first, long], model, need)] == [1]


def test_lexical_support_ignores_words_taken_from_the_question():
    passage = "北京是中华人民共和国的首都。"
    assert lexical_support("北京是中国的首都。", passage, "北京是哪个国家的首都？") > lexical_support(
        "北京是日本的首都。", passage, "北京是哪个国家的首都？")
    assert lexical_support("Paris is the capital.", "The capital of France is Paris.") == 1.0


def test_supports_rules():
    t = Thresholds(support_lexical=0.5, support_cosine=0.8, support_cross_lingual=0.9)
    assert supports(0.6, 0.85, False, t) and not supports(0.4, 0.95, False, t) and not supports(0.9, 0.7, False, t)
    assert supports(0.0, 0.91, True, t) and not supports(1.0, 0.89, True, t) and supports(0.6, None, False, t)
    t = Thresholds(support_cross_lingual=0.9, support_cross_lingual_facts=0.75)  # numbers checked across languages
    assert supports(0.0, 0.8, True, t, facts=True) and not supports(0.0, 0.8, True, t, facts=False)
    assert not supports(0.0, 0.8, True, t, facts=None) and not supports(0.0, 0.7, True, t, facts=True)


def test_cross_lingual_facts_are_numbers_and_latin_names():
    passage = "The Broncos beat the Steelers 23–16 in 1,998 seconds; Peyton Manning threw for 222 yards."
    assert cross_lingual_facts("曼宁（Manning）传球222码。", passage, "曼宁传球多少码？") is True
    assert cross_lingual_facts("曼宁传球 230 码。", passage, "曼宁传球多少码？") is False
    assert cross_lingual_facts("野马队赢了。", passage, "谁赢了？") is None  # nothing checkable
    assert cross_lingual_facts("用时1998秒。", passage) is True  # thousands separators do not matter
    assert cross_lingual_facts("Elway 传球222码。", passage) is False  # a name the passage lacks


def test_detect_language():
    assert detect("灵犀是什么？") == "zh" and detect("What is lingxi?") == "en" and detect("灵犀 supports GGUF") == "zh"


def test_markers_opening_a_line_label_that_line():
    claims = split_claims("[1] lingxi runs offline.\n[2] It serves HTTP. [3] More text.\n[4]")
    assert [(c.text, c.cited) for c in claims] == [
        ("lingxi runs offline.", [1]), ("It serves HTTP.", [2, 3]), ("More text.", [4])]


def test_lexical_support_wants_the_claim_stated_in_one_place():
    passage = ("The Panthers defense gave up just 308 points, ranking sixth in the league. "
               "Their coach praised the fans. The stadium was full. Kawann Short led the team in sacks with 11.")
    q = "How many points did the Panthers defense give up?"
    assert lexical_support("The Panthers defense gave up 308 points.", passage, q) == 1.0
    # every word is in the passage, but 11 is not where the points are
    assert lexical_support("The Panthers defense gave up 11 points in the league.", passage, q) < 0.6
    # words scattered over distant sentences do not add up
    assert lexical_support("The coach led the league in sacks.", passage, "Who?") < 0.6


def test_answer_labels_are_not_part_of_the_claim():
    assert [c.text for c in split_claims("资料： 灵犀可以离线运行。Answer: It runs offline.")] == [
        "灵犀可以离线运行。", "It runs offline."]


def test_names_like_numbers_must_be_where_the_claim_is():
    passage = "丹佛的橄榄球运营执行副总裁兼总经理是约翰·埃尔维。约什·诺曼是黑豹队的角卫。"
    q = "谁是丹佛的总经理？"
    assert lexical_support("丹佛的橄榄球运营执行副总裁兼总经理是约翰·埃尔维。", passage, q) == 1.0
    assert lexical_support("丹佛的橄榄球运营执行副总裁兼总经理是约什·诺曼。", passage, q) < 0.5
    en = "Luke Kuechly led the team in tackles. Jared Allen was the active career sack leader."
    cut = Thresholds().support_lexical
    assert lexical_support("Luke Kuechly led the team in tackles.", en, "Who led the Panthers in tackles?") >= cut
    assert lexical_support("Jared Allen led the team in tackles.", en, "Who led the Panthers in tackles?") < cut
    assert lexical_support("三十九岁。", "他当时三十九岁，是最年长的四分卫。", "他几岁？") == 1.0  # lone CJK characters count
