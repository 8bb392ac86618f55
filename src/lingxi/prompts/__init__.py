"""Prompt engineering: templates with roles and few-shot blocks, example selection, and techniques.

    from lingxi.prompts import PromptTemplate, chain_of_thought, self_consistency

Importing is cheap; Jinja2 and the embedders load on first use.
"""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "PromptTemplate": "templates", "TemplateLibrary": "templates", "load_template": "templates",
    "render_string": "templates", "ExampleSelector": "examples", "mmr": "examples",
    "chain_of_thought": "techniques", "self_consistency": "techniques", "chain_of_density": "techniques",
    "skeleton_of_thought": "techniques", "program_aided": "techniques", "extract_answer": "techniques",
})
