#!/usr/bin/env python3
"""gen.py — expected chat-template renderings for tests/task_chat.c.

Each template below is a real model's published chat template (the text of its
tokenizer_config.json "chat_template" or GGUF tokenizer.chat_template). They are
rendered with Jinja2 the way transformers' apply_chat_template does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, raise_exception,
add_generation_prompt=True) for a few conversations, and written to
expected.json; the C test renders the same conversations natively and compares
byte for byte. Templates that refuse a system message (Mistral v0.1, Gemma)
are rendered with the system text folded into the user message as
"SYSTEM\\n\\nUSER" — merilo's rule for them (docs/evaluation.md).

    python3 tests/data/chat/gen.py     # rewrites tests/data/chat/expected.json (needs jinja2)
"""
import json
import os

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = [
    # (model, family, bos, template)
    ("teknium/OpenHermes-2.5-Mistral-7B", "chatml", "<s>",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
    # ../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf, tokenizer.chat_template
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "chatml", "<|im_start|>",
     "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
    ("meta-llama/Llama-2-13b-chat-hf", "llama2", "<s>",
     "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3", "<|begin_of_text|>",
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    ("mistralai/Mistral-7B-Instruct-v0.1", "mistral", "<s>",
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral", "<s>",
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
    ("google/gemma-7b-it", "gemma", "<bos>",
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"),
    ("microsoft/Phi-3.5-mini-instruct", "phi3", "<s>",
     "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"),
]

CONVERSATIONS = [
    (None, "Translate into Serbian: The house is big."),
    ("You are a careful translator.", "Translate into Croatian: Good morning."),
    ("Одговарај на српском, ћирилицом.", "  Који је главни град Србије?\n"),
    (None, "Pitanje: Koliko je 2 + 2?\nOdgovor:"),
]


def raise_exception(message):
    raise TemplateError(message)


def render(template, bos, system, user):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    try:
        return env.from_string(template).render(messages=messages, bos_token=bos, eos_token="</s>",
                                                add_generation_prompt=True), False
    except TemplateError:
        folded = [{"role": "user", "content": system + "\n\n" + user}]
        return env.from_string(template).render(messages=folded, bos_token=bos, eos_token="</s>",
                                                add_generation_prompt=True), True


def main():
    cases = []
    for model, family, bos, template in TEMPLATES:
        for system, user in CONVERSATIONS:
            text, folded = render(template, bos, system, user)
            cases.append({"model": model, "family": family, "bos": bos, "template": template,
                          "system": system, "user": user, "folded": folded, "expected": text})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/data/chat/gen.py", "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
