"""The rule checks of the entailment verifier (no model, no embeddings: microseconds each)."""

from __future__ import annotations

import pytest

from lingxi.rag import checks
from lingxi.rag.entail import Entailment

CLUSTER = ("Options that take arguments (whether mandatory or optional), can appear at the end of such a cluster, "
           "e.g. -vkpf a.tar.")  # fmt: skip


@pytest.mark.parametrize("sentence", ["1.", "1 [3]. 2 [2].", "The grep option", "The ssh -L option is", "The answer is 0.",
                                      "答案是", "答案：25。", "[2]"])
def test_sentences_that_state_nothing(sentence):
    assert checks.states_nothing(sentence)


@pytest.mark.parametrize("sentence", ["lingxi serve listens on port 8700.", "The --exclude-vcs option excludes version control directories.",
                                      "灵犀可以离线运行。", "四泉圣嘉禄堂是由建筑师博罗米尼设计的。", "Employees get 25 vacation days."])
def test_statements_are_not_empty(sentence):
    assert not checks.states_nothing(sentence)


def test_negation_polarity_both_languages():
    assert checks.veto("The tar option --exclude-vcs does not take arguments.", CLUSTER) == "negation"
    assert checks.veto("Options that take arguments can appear at the end of a cluster.", CLUSTER) is None
    assert checks.polarity_differs("灵犀不能离线运行。", "灵犀可以离线运行，不需要网络。")
    assert not checks.polarity_differs("灵犀可以离线运行。", "灵犀可以离线运行，不需要网络。")
    assert checks.polarity_differs("He never won the prize.", "He won the prize in 1990.")
    assert not checks.polarity_differs("The weather is very nice.", "天气非常好。")  # 非常 is not a negation


def test_numbers_with_units_and_chinese_numerals():
    assert checks.zh_number("二十五") == 25 and checks.zh_number("一千零三") == 1003 and checks.zh_number("三万五千") == 35000
    assert (25.0, "天") in checks.numbers("员工每年有二十五天年假。")
    assert not checks.number_differs("员工每年有二十五天年假。", "员工每年享有25天带薪年假。")
    assert checks.number_differs("员工每年有二十天年假。", "员工每年享有25天带薪年假。")
    assert checks.number_differs("The bridge is 25 km long.", "The bridge is 25 m long and 3 km from town.")
    assert not checks.number_differs("It has 1,388 couples.", "There were 1,388 (0.9%) same-sex married couples.")
    assert not checks.number_differs("Which port? 8700", "port 8700", question="Which port? 8700")


def test_subject_names_must_be_in_the_passage():
    passage = "The name oxygen was coined in 1777 by Antoine Lavoisier."
    assert checks.veto("Joseph Priestley coined the name oxygen in 1777.", passage) == "subject"
    assert checks.veto("Lavoisier coined the name oxygen in 1777.", passage) is None
    assert checks.subject_missing("《红楼梦》的作者是曹雪芹。", "《三国演义》的作者是罗贯中。")


def test_without_embeddings_the_words_rule_decides_and_records_it():
    judge = Entailment(None)
    ok = judge.one("lingxi serve starts a server on port 8700.", "The command lingxi serve starts an OpenAI-compatible server on port 8700.")
    assert ok.supported and ok.check == "lexical" and ok.verdict == "entailed"
    neg = judge.one("The tar option --exclude-vcs does not take arguments.", CLUSTER)
    assert not neg.supported and neg.check == "negation" and neg.verdict == "contradicted"
    empty = judge.one("The grep option", "grep searches for PATTERNS in each FILE. The grep option -i ignores case.")
    assert not empty.supported and empty.check == "empty" and empty.verdict == "not stated"


def test_cross_lingual_gate_for_chinese_questions_over_english_passages():
    from lingxi.rag.answer import Source, Thresholds
    from lingxi.rag.context import latin_coverage, relevant

    t = Thresholds()
    en = lambda cos, text="grep searches for PATTERNS in each FILE.": Source(n=1, chunk_id="c", source="grep.txt", text=text, cosine=cos)  # noqa: E731
    zh = Source(n=1, chunk_id="z", source="z.md", text="灵犀可以离线运行，不需要网络。", cosine=t.retrieval_cosine_cross + 0.01)
    assert relevant([en(t.retrieval_cosine_cross + 0.01)], t, "zh", "grep 是做什么的？")  # the cross-lingual threshold
    assert not relevant([zh], t, "zh", "灵犀需要网络吗？")  # a Chinese passage keeps the Chinese threshold
    assert not relevant([en(t.retrieval_cosine_cross - 0.05)], t, "zh", "它是做什么的？")
    assert relevant([en(0.5, "The grep option -i ignores case.")], t, "zh", "grep 的 -i 选项有什么用？")  # every Latin term found
    assert latin_coverage("ssh -L 是什么？", "grep -i ignores case") == 0.0 and latin_coverage("灵犀是什么？", "x") == 0.0


def test_topic_mode_covers_a_syllabus_topic_the_claim_mode_calls_empty():
    passage = "光的直线传播：光在同种均匀介质中沿直线传播。小孔成像、影子的形成都说明了这一点。"
    assert checks.states_nothing("光的直线传播")
    claim = Entailment().one("光的直线传播", passage)
    assert not claim.supported and claim.check == "empty"
    topic = Entailment(mode="topic").one("光的直线传播", passage)
    assert topic.supported and topic.check == "topic"
    absent = Entailment(mode="topic").one("光的色散", passage)
    assert not absent.supported and absent.check == "empty"
    sentence = Entailment(mode="topic").one("光在同种均匀介质中沿曲线传播。", passage)  # a full sentence is still a claim
    assert sentence.check != "topic"
    with pytest.raises(ValueError):
        Entailment(mode="topics")


TOWER = ("The Eiffel Tower was designed by the engineering firm of Gustave Eiffel. It was completed in 1889 for the "
         "World's Fair. Paris also hosts the Louvre, which holds the Mona Lisa painted by Leonardo da Vinci.")


def test_an_answer_taken_from_the_wrong_place_of_the_passage_is_refused():
    q = "Who designed the Eiffel Tower?"
    wrong = "The Eiffel Tower was designed by Leonardo da Vinci."  # every word is in the passage, the claim is not
    right = "The Eiffel Tower was designed by the firm of Gustave Eiffel."
    assert checks.anchor_missing(wrong, TOWER, q)
    assert checks.veto(wrong, checks.align(wrong, TOWER, q), q, TOWER) == "anchor"
    assert not checks.anchor_missing(right, TOWER, q)
    assert checks.veto(right, checks.align(right, TOWER, q), q, TOWER) is None
    assert not checks.anchor_missing("The tower was completed in 1889.", TOWER, "When was the Eiffel Tower completed?")
    assert not checks.anchor_missing(wrong, TOWER, "")  # no question: nothing to anchor to
    j = Entailment().one(wrong, TOWER, q)
    assert not j.supported and j.check == "anchor" and j.verdict == "not stated"


def test_anchor_in_chinese():
    p = "员工每年享有25天带薪年假。公司总部位于杭州，成立于2010年。"
    q = "员工每年有多少天年假？"
    assert checks.anchor_missing("员工每年的年假在杭州。", p, q)
    assert not checks.anchor_missing("员工每年有25天年假。", p, q)
