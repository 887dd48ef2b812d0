// A form generated from a tool's JSON schema (pydantic's model_json_schema), prefilled with the proposed
// arguments. Numbers are sent as numbers; objects, arrays and anything else as JSON text the person may edit.
import { h } from "./keel.js";

function resolve(schema, root) {
  let current = schema || {};
  for (let depth = 0; current.$ref && depth < 10; depth += 1) {
    const name = current.$ref.split("/").pop();
    current = { ...((root.$defs || root.definitions || {})[name] || {}), ...current, $ref: undefined };
  }
  const options = current.anyOf || current.oneOf;
  if (options) {
    // Optional[X] is anyOf [X, null]: render X, and let an empty field mean null.
    const real = options.filter((option) => option.type !== "null");
    if (real.length === 1) return { ...resolve(real[0], root), nullable: true, title: current.title, description: current.description, default: current.default };
  }
  return current;
}

function kindOf(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  if (["string", "number", "integer", "boolean"].includes(schema.type)) return schema.type;
  return "json";
}

function shown(value, kind) {
  if (value === undefined || value === null) return "";
  if (kind === "json") return JSON.stringify(value, null, 2);
  return String(value);
}

function field(name, schema, value, required, idPrefix, onChange) {
  const kind = kindOf(schema);
  const id = `${idPrefix}-${name}`;
  let input;
  if (kind === "boolean") {
    input = h("input", { id, name, type: "checkbox", checked: value === true });
  } else if (kind === "enum") {
    input = h("select", { id, name }, schema.enum.map((option) => h("option", { value: String(option), selected: option === value }, String(option))));
  } else if (kind === "number" || kind === "integer") {
    const low = schema.minimum ?? schema.exclusiveMinimum;
    const high = schema.maximum ?? schema.exclusiveMaximum;
    input = h("input", { id, name, type: "number", step: kind === "integer" ? "1" : "any", min: low, max: high, required, value: shown(value, kind) });
  } else if (kind === "string" && !(schema.maxLength > 120)) {
    input = h("input", { id, name, type: "text", maxlength: schema.maxLength, required, value: shown(value, kind) });
  } else {
    input = h("textarea", { id, name, rows: kind === "json" ? 4 : 2, required }, shown(value, kind));
  }
  input.dataset.kind = kind;
  if (schema.nullable) input.dataset.nullable = "true";
  input.addEventListener("input", onChange);
  input.addEventListener("change", onChange);
  const label = schema.title || name;
  return h("div", { class: "field" },
    h("label", { for: id }, label, required ? " *" : ""),
    input,
    schema.description ? h("small", { class: "muted" }, schema.description) : null);
}

function read(input, schema) {
  const kind = input.dataset.kind;
  if (kind === "boolean") return input.checked;
  const text = input.value;
  if (text.trim() === "") return input.dataset.nullable ? null : undefined;
  if (kind === "number" || kind === "integer") {
    const number = Number(text);
    return Number.isFinite(number) ? number : text; // keel says what is wrong with text it cannot read
  }
  if (kind === "enum") return schema.enum.find((option) => String(option) === text) ?? text;
  if (kind === "json") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

// {element, values(), changed()}: values() are the arguments as the form holds them now.
export function schemaForm(schema, proposed, { idPrefix, draft, onChange = () => {} }) {
  const root = schema || {};
  const properties = root.properties || Object.fromEntries(Object.keys(proposed || {}).map((name) => [name, {}]));
  const required = new Set(root.required || []);
  const start = { ...(proposed || {}), ...(draft || {}) };
  const fields = Object.entries(properties).map(([name, property]) => {
    const resolved = resolve(property, root);
    return [name, resolved, field(name, resolved, start[name], required.has(name), idPrefix, onChange)];
  });
  const element = h("div", { class: "schema-form" }, fields.map(([, , view]) => view));
  const values = () => {
    const args = {};
    for (const [name, resolved, view] of fields) {
      const value = read(view.querySelector("[name]"), resolved);
      if (value !== undefined) args[name] = value;
    }
    return args;
  };
  const changed = () => JSON.stringify(values()) !== JSON.stringify(Object.fromEntries(fields.map(([name]) => [name, proposed[name]]).filter(([, value]) => value !== undefined)));
  return { element, values, changed };
}
