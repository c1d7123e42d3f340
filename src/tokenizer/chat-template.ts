// Chat templates: the Jinja template shipped with a model (tokenizer_config.json "chat_template", GGUF
// "tokenizer.chat_template") rendered with @huggingface/jinja and the same globals transformers provides.
import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { DbllmError, invalidArgument } from "../errors.ts";

export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the prompt that starts the assistant's turn. Default true. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Further template variables (tools, documents, enable_thinking, date_string, ...). */
  extra?: Record<string, unknown>;
  /** Clock for strftime_now (tests pass a fixed date). Default: now. */
  now?: Date;
  /** Limits of one rendering (default TEMPLATE_BUDGET): a template comes from a model file and may be hostile. */
  budget?: Partial<TemplateBudget>;
}

export interface TemplateBudget {
  /** Template nodes evaluated (a loop iteration costs at least one per statement in its body). */
  steps: number;
  /** Wall-clock milliseconds. */
  ms: number;
  /** Length of any string the template builds, its output included. */
  chars: number;
}

/**
 * Generous for real templates — Qwen3's renders a 1,000-message conversation in about 47k steps and 50–150 ms here —
 * and small enough that `{% for i in range(100000000) %}` fails at once (range() pays for its elements up front)
 * and nested loops within about a second (the interpreter runs roughly a million steps a second).
 */
export const TEMPLATE_BUDGET: Readonly<TemplateBudget> = { steps: 1_000_000, ms: 1000, chars: 16 << 20 };

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
  "November", "December"];

/** Python's strftime in the C locale, for the directives chat templates use. */
export function strftime(date: Date, format: string): string {
  const p2 = (n: number) => String(n).padStart(2, "0");
  const startOfYear = new Date(date.getFullYear(), 0, 1);
  const dayOfYear = Math.floor((date.getTime() - startOfYear.getTime()) / 86_400_000) + 1;
  return format.replace(/%([a-zA-Z%])/g, (all, d: string) => {
    switch (d) {
      case "Y": return String(date.getFullYear());
      case "y": return p2(date.getFullYear() % 100);
      case "m": return p2(date.getMonth() + 1);
      case "d": return p2(date.getDate());
      case "e": return String(date.getDate()).padStart(2, " ");
      case "H": return p2(date.getHours());
      case "I": return p2(date.getHours() % 12 || 12);
      case "M": return p2(date.getMinutes());
      case "S": return p2(date.getSeconds());
      case "p": return date.getHours() < 12 ? "AM" : "PM";
      case "A": return DAYS[date.getDay()];
      case "a": return DAYS[date.getDay()].slice(0, 3);
      case "B": return MONTHS[date.getMonth()];
      case "b": case "h": return MONTHS[date.getMonth()].slice(0, 3);
      case "j": return String(dayOfYear).padStart(3, "0");
      case "%": return "%";
      default: return all;
    }
  });
}

class TemplateRaised extends Error {}
class OverBudget extends Error {}

const clock = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** The interpreter with a meter: every node evaluated counts against the budget, every string built is measured. */
class MeteredInterpreter extends Interpreter {
  steps = 0;
  private readonly deadline: number;
  constructor(env: Environment, readonly budget: TemplateBudget) {
    super(env);
    this.deadline = clock() + budget.ms;
  }
  /** Charges `n` steps (range() charges for the elements it creates). */
  charge(n: number): void {
    this.steps += n;
    if (this.steps > this.budget.steps) throw new OverBudget(`more than ${this.budget.steps} evaluation steps`);
  }
  override evaluate(...args: Parameters<Interpreter["evaluate"]>): ReturnType<Interpreter["evaluate"]> {
    this.charge(1);
    if ((this.steps & 1023) === 0 && clock() > this.deadline) throw new OverBudget(`more than ${this.budget.ms} ms`);
    const value = super.evaluate(...args);
    if (typeof value.value === "string" && value.value.length > this.budget.chars) throw new OverBudget(`a string of more than ${this.budget.chars} characters`);
    return value;
  }
}

/** Python's range(), as Jinja templates use it; its elements are charged to the budget before they exist. */
function meteredRange(meter: MeteredInterpreter) {
  return (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) { stop = start; start = 0; }
    if (![start, stop, step].every(Number.isFinite)) throw new Error("range() needs finite numbers");
    if (step === 0) throw new Error("range() step must not be zero");
    meter.charge(Math.max(0, Math.ceil((stop - start) / step)));
    const out: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
    return out;
  };
}

/**
 * Template.render() with our own globals: its built-in raise_exception and strftime_now cannot be replaced
 * through render()'s variables (they are declared first), so the environment is set up here with the same names.
 */
function render(template: Template, vars: Record<string, unknown>, budget: TemplateBudget): string {
  const env = new Environment();
  const meter = new MeteredInterpreter(env, budget);
  const globals: Record<string, unknown> = { false: false, true: true, none: null, False: false, True: true, None: null, range: meteredRange(meter) };
  for (const [k, v] of Object.entries({ ...globals, ...vars })) env.set(k, v);
  return String(meter.run(template.parsed).value);
}

/** Parsed templates by source text: a model's template is rendered once per request. */
const parsed = new Map<string, Template>();

function compile(template: string): Template {
  let t = parsed.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new DbllmError("CHAT_TEMPLATE", `the chat template does not parse: ${(e as Error).message}`, { cause: e });
    }
    if (parsed.size > 32) parsed.clear();
    parsed.set(template, t);
  }
  return t;
}

/**
 * Renders `messages` with a Jinja chat template. Throws DbllmError CHAT_TEMPLATE when the template is missing,
 * does not parse, calls raise_exception (e.g. "Conversation roles must alternate"), or fails while rendering.
 */
export function renderChatTemplate(template: string | undefined, messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  if (typeof template !== "string" || template.length === 0) {
    throw new DbllmError("CHAT_TEMPLATE", "no chat template: the model does not ship one; pass a template explicitly");
  }
  if (!Array.isArray(messages)) throw invalidArgument("messages must be an array of { role, content }");
  for (const [i, m] of messages.entries()) {
    if (m === null || typeof m !== "object" || typeof m.role !== "string") {
      throw invalidArgument(`messages[${i}] must be an object with a string role`);
    }
  }
  const now = options.now;
  const vars: Record<string, unknown> = {
    ...options.extra,
    messages,
    add_generation_prompt: options.addGenerationPrompt ?? true,
    bos_token: options.bosToken ?? "",
    eos_token: options.eosToken ?? "",
    raise_exception: (message?: unknown) => { throw new TemplateRaised(String(message)); },
    strftime_now: (format: unknown) => strftime(now ?? new Date(), String(format)),
  };
  try {
    return render(compile(template), vars, { ...TEMPLATE_BUDGET, ...options.budget });
  } catch (e) {
    if (e instanceof DbllmError) throw e;
    const why = e instanceof TemplateRaised ? `the chat template refused the conversation: ${e.message}`
      : e instanceof OverBudget ? `the chat template exceeded its budget: ${e.message} (a runaway loop, or a conversation far larger than usual)`
      : `the chat template failed: ${(e as Error).message}`;
    throw new DbllmError("CHAT_TEMPLATE", why, { cause: e });
  }
}
