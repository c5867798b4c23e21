/* task_chat.c — tests for chat templates (tasks/chat.h).
 *
 * tests/data/chat/expected.json holds real models' chat templates and what
 * Jinja renders for a few conversations (made by tests/data/chat/gen.py the way
 * transformers' apply_chat_template renders); each case is recognised and
 * rendered natively here and must match byte for byte. Then the names, an
 * unrecognised template and the family markers one by one.
 */
#include "tests/tap.h"

#include <jansson.h>
#include <stdlib.h>

#include "tasks/chat.h"

static void test_expected(void)
{
	json_error_t je;
	json_t *doc = json_load_file("tests/data/chat/expected.json", 0, &je);
	if (!ok(doc != NULL, "tests/data/chat/expected.json loads")) {
		diag("%s", je.text);
		return;
	}
	json_t *cases = json_object_get(doc, "cases"), *c;
	size_t i;
	ok(json_array_size(cases) >= 40, "at least 40 cases (9 templates x 4 conversations, Qwen3 twice)");
	json_array_foreach(cases, i, c) {
		const char *model = json_string_value(json_object_get(c, "model"));
		const char *family = json_string_value(json_object_get(c, "family"));
		const char *system = json_string_value(json_object_get(c, "system"));
		const char *user = json_string_value(json_object_get(c, "user"));
		const char *bos = json_string_value(json_object_get(c, "bos"));
		const char *want = json_string_value(json_object_get(c, "expected"));
		struct task_chat chat;
		struct mrl_err err = { 0 };
		char name[256], *got = NULL;
		snprintf(name, sizeof name, "%s case %zu: recognised as %s", model, i % 4, family);
		if (!ok(task_chat_detect(json_string_value(json_object_get(c, "template")), &chat, &err) == 0, name)) {
			diag("%s", err.msg);
			continue;
		}
		is_str(task_chat_name(chat.family), family, name);
		const json_t *think = json_object_get(c, "enable_thinking");
		chat.no_thinking = json_is_false(think);
		if (!strcmp(model, "Qwen/Qwen3-0.6B")) {
			snprintf(name, sizeof name, "%s case %zu: the enable_thinking switch is recognised", model, i % 4);
			ok(chat.thinking_switch, name);
		}
		snprintf(name, sizeof name, "%s case %zu%s: rendered byte for byte as Jinja does", model, i % 4,
			 chat.no_thinking ? " (enable_thinking=False)" : "");
		ok(task_chat_apply(&chat, system, user, bos, &got, &err) == 0, "task_chat_apply returns 0");
		is_str(got ? got : "(null)", want, name);
		free(got);
	}
	json_decref(doc);
}

static void test_names(void)
{
	enum task_chat_family f = TASK_CHAT_NONE;
	struct mrl_err err = { 0 };
	ok(task_chat_parse_name("Llama3", &f, &err) == 0 && f == TASK_CHAT_LLAMA3, "names are case-insensitive");
	ok(task_chat_parse_name("none", &f, &err) == 0 && f == TASK_CHAT_NONE, "'none' is a name");
	is_int(task_chat_parse_name("vicuna", &f, &err), MRL_EINPUT, "an unknown name is MRL_EINPUT");
	like(err.msg, "known: none, chatml", "the message lists the known names");
	for (int i = 0; i < TASK_CHAT_N_FAMILIES; i++) {
		ok(task_chat_parse_name(task_chat_name((enum task_chat_family)i), &f, &err) == 0 && (int)f == i,
		   "every family's name parses back to it");
	}
	ok(task_chat_name(TASK_CHAT_N_FAMILIES) == NULL, "a family out of range has no name");
}

static void test_detect(void)
{
	struct task_chat c;
	struct mrl_err err = { 0 };
	is_int(task_chat_detect("{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}", &c, &err),
	       MRL_EUNSUPPORTED, "an unrecognised template is MRL_EUNSUPPORTED");
	like(err.msg, "--chat-template", "its message says --chat-template is needed");
	ok(task_chat_detect("{{ '[INST] ' + x + ' [/INST]' }}", &c, &err) == 0 && c.family == TASK_CHAT_MISTRAL,
	   "[INST] without <<SYS>> is Mistral");
	ok(task_chat_detect("{{ '<<SYS>>\\n' }}[INST]", &c, &err) == 0 && c.family == TASK_CHAT_LLAMA2,
	   "[INST] with <<SYS>> is Llama 2");
	ok(task_chat_detect("{{'<|user|>\\n' + c + '<|end|>\\n'}}", &c, &err) == 0 && c.family == TASK_CHAT_PHI3,
	   "<|user|> with <|end|> is Phi-3");
	ok(task_chat_detect("<|im_start|>{{ role }}\\n", &c, &err) == 0 && c.family == TASK_CHAT_CHATML &&
		   !c.default_system[0], "ChatML without a default system message has none");
	ok(task_chat_detect("{{ '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}", &c, &err) == 0 &&
		   !strcmp(c.default_system, "You are Qwen."), "a ChatML default system message with \\n escapes is read");
	char *out = NULL;
	c.family = TASK_CHAT_NONE;
	is_int(task_chat_apply(&c, NULL, "x", NULL, &out, &err), MRL_EINPUT, "applying family none is an error");
	ok(out == NULL, "and gives no text");
	ok(task_chat_writes_bos(TASK_CHAT_LLAMA3) && !task_chat_writes_bos(TASK_CHAT_CHATML),
	   "Llama 3 writes BOS text, ChatML does not");
}

/* Later templates of a family that render otherwise than its writer: refused, not
 * rendered in the family's shape with exit 0 (the generation audit: transformers'
 * renderings differ from merilo's for each). Excerpts of the published templates. */
static void test_variants(void)
{
	static const struct {
		const char *tmpl, *what, *says;
	} v[] = {
		{ "{{- bos_token }}{%- if not date_string is defined %}{%- set date_string = strftime_now(\"%d %b %Y\") %}"
		  "{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}"
		  "{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{- \"Today Date: \" + date_string }}",
		  "Llama 3.2's dated system block", "--chat-template llama3" },
		{ "{{- bos_token }}{%- for message in loop_messages %}{{- \"[INST]\" + message[\"content\"] + "
		  "\"[/INST]\" }}{%- endfor %}",
		  "Mistral Nemo's [INST]content[/INST]", "--chat-template mistral" },
		{ "{{- bos_token }}{%- for message in loop_messages %}{{- \"[INST] \" + message[\"content\"] + "
		  "\"[/INST]\" }}{%- endfor %}",
		  "Mistral v0.3's [INST] content[/INST]", "v0.1's" },
		{ "{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' + "
		  "message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}{% if add_generation_prompt %}"
		  "{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}",
		  "Phi-4's <|im_sep|>", "--chat-template chatml" },
		{ "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n<think>\\n' }}\n{%- endif %}",
		  "QwQ's turn opened with <think>", "always opens the assistant's turn with <think>" },
		{ "{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking %}{{- '/think' }}{%- endif %}",
		  "another enable_thinking than Qwen3's", "enable_thinking switch other than Qwen3's" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct task_chat c;
		struct mrl_err err = { 0 };
		is_int(task_chat_detect(v[i].tmpl, &c, &err), MRL_EUNSUPPORTED, v[i].what);
		like(err.msg, v[i].says, "its message names the choice");
	}
	/* a default system message longer than the buffer was cut mid-character */
	char *tmpl = malloc(8192);
	strcpy(tmpl, "{{ '<|im_start|>system\\n");
	for (int i = 0; i < 100; i++) /* 3,900 bytes */
		strcat(tmpl, "Одговарај ћирилицом. ");
	strcat(tmpl, "<|im_end|>\\n' }}");
	struct task_chat c;
	struct mrl_err err = { 0 };
	is_int(task_chat_detect(tmpl, &c, &err), MRL_EUNSUPPORTED, "a default system message of 3,900 bytes is refused");
	like(err.msg, "longer than 2047 bytes", "its message says why");
	free(tmpl);
}

/* The answer of a thinking model: what follows the last </think> and its newlines. */
static void test_answer_at(void)
{
	static const struct {
		const char *text;
		long at;
	} v[] = {
		{ "<think>\nhmm\n</think>\n\nKuća je velika.", 22 },
		{ "<think>a</think>b</think>\nc", 26 },
		{ "</think>", 8 },
		{ "<think>\nunfinished", -1 },
		{ "plain answer", -1 },
		{ "", -1 },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char name[128];
		snprintf(name, sizeof name, "the answer of case %zu starts at %ld", i, v[i].at);
		is_int(task_chat_answer_at(v[i].text), v[i].at, name);
	}
}

int main(void)
{
	TEST(test_answer_at(), "a thinking model's answer after its reasoning");
	TEST(test_variants(), "later templates merilo does not reproduce are refused");
	TEST(test_expected(), "real templates render as Jinja renders them");
	TEST(test_names(), "family names");
	TEST(test_detect(), "recognition markers and errors");
	return done_testing();
}
