from __future__ import annotations

from lingxi.knowledge.splitter import Splitter, embed_text
from lingxi.knowledge.text import sentence_spans, terms
from lingxi.types import Document


def test_chinese_sentences_keep_closing_quotes():
    t = "他说：“今天天气很好。”我们去公园吧！真的吗？好的……走吧；Hello world. Bye!"
    got = [t[a:b] for a, b in sentence_spans(t)]
    assert got == ["他说：“今天天气很好。”", "我们去公园吧！", "真的吗？", "好的……", "走吧；", "Hello world.", "Bye!"]


def test_terms_mix_bigrams_and_stems():
    assert terms("北京首都 The running dogs") == ["北京", "京首", "首都", "run", "dog"]
    assert terms("的 of the") == ["的"]


def _doc(text, kind="text", **meta):
    return Document(id="d", source="/x/d", text=text, metadata={"kind": kind, **meta})


def test_chunks_are_bounded_overlap_and_offsets_exact():
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(80))
    sp = Splitter(max_tokens=40, overlap=12)
    chunks = sp.split(_doc(text))
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert sp.count_tokens(c.text) <= 40
        assert len(c.hash) == 32
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))  # overlap
    assert len({c.id for c in chunks}) == len(chunks)


def test_markdown_heading_path_and_no_cross_section_chunks():
    text = "# 手册\n\n简介。\n\n## 安装\n\n运行命令。\n\n### 离线\n\n无需网络。\n\n# 附录\n\n其他。"
    chunks = Splitter(max_tokens=64, overlap=0).split(_doc(text, "markdown"))
    assert [c.headings for c in chunks] == [["手册"], ["手册", "安装"], ["手册", "安装", "离线"], ["附录"]]
    assert embed_text(chunks[2]).startswith("手册 > 安装 > 离线\n")


def test_long_sentence_is_hard_split_and_rows_never_cut():
    long = "这是一个没有句号的超长句子，" * 60
    chunks = Splitter(max_tokens=50, overlap=0).split(_doc(long))
    assert len(chunks) > 3 and all(len(c.text) <= 50 for c in chunks)
    rows = "\n".join(f"name: item{i}; price: {i}" for i in range(30))
    rc = Splitter(max_tokens=32, overlap=0).split(_doc(rows, "rows"))
    assert all(line.startswith("name:") for c in rc for line in c.text.splitlines())
    assert rc[0].metadata["row_start"] == 1 and rc[-1].metadata["row_end"] == 30


def test_page_metadata_and_model_tokenizer(e5):
    doc = _doc("第一句。第二句。" * 40, page=3)
    sp = Splitter(max_tokens=64, overlap=8, count_tokens=e5.count_tokens)
    chunks = sp.split(doc)
    assert all(c.page == 3 for c in chunks)
    assert all(e5.count_tokens(c.text) <= 64 for c in chunks)


def test_jieba_analyzer_offers_words():
    got = terms("北京是中华人民共和国的首都 running", "jieba")
    assert {"北京", "首都", "人民", "中华人民共和国", "run"} <= set(got)


def test_english_abbreviations_do_not_end_sentences():
    t = "Ask Dr. Smith, e.g. by mail. It costs 3.5 dollars. See Fig. 2 now."
    assert [t[a:b] for a, b in sentence_spans(t)] == ["Ask Dr. Smith, e.g. by mail.", "It costs 3.5 dollars.", "See Fig. 2 now."]


def test_digits_and_cjk_are_separate_terms():
    assert terms("第1段内容") == ["第", "1", "段内", "内容"]
    assert terms("iPhone15手机2024年") == ["iphone15", "手机", "2024", "年"]
    assert terms("abc中文") == ["abc", "中文"]
