// Renders the gateway's OpenAPI description (/api/openapi.json) as a reference page. Every text
// comes from the description and is inserted as text, never as HTML.
"use strict";

(async function () {
  const spec = await (await fetch("/api/openapi.json")).json();
  const $ = (id) => document.getElementById(id);

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // Descriptions use `code` spans: shown as <code>, everything else as plain text.
  function prose(text, tag) {
    const node = el(tag || "p");
    String(text || "").split(/(`[^`]*`)/).forEach((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) node.append(el("code", {}, part.slice(1, -1)));
      else node.append(part);
    });
    return node;
  }

  function refName(ref) { return ref.split("/").pop(); }

  function resolve(schema) {
    return schema && schema.$ref ? spec.components.schemas[refName(schema.$ref)] || {} : schema || {};
  }

  // A schema as one readable line: its type, constraints and, for a reference, a link.
  function describe(schema) {
    if (!schema) return el("span", { class: "muted" }, "—");
    if (schema.$ref) {
      const name = refName(schema.$ref);
      return el("a", { href: "#schema-" + name }, name);
    }
    const span = el("span");
    const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
    if ("const" in schema) span.append(el("code", {}, JSON.stringify(schema.const)));
    else if (schema.enum) span.append("one of ", el("code", {}, schema.enum.join(", ")));
    else if (type === "array") span.append("array of ", describe(schema.items));
    else span.append(type || "any");
    const notes = [];
    if (schema.format) notes.push(schema.format);
    if (schema.pattern) notes.push("pattern " + schema.pattern);
    if ("minimum" in schema || "maximum" in schema) notes.push((schema.minimum ?? "…") + " to " + (schema.maximum ?? "…"));
    if ("maxLength" in schema) notes.push("at most " + schema.maxLength + " characters");
    if ("maxItems" in schema) notes.push("at most " + schema.maxItems + " items");
    if ("maxProperties" in schema) notes.push("at most " + schema.maxProperties + " keys");
    if ("default" in schema) notes.push("default " + JSON.stringify(schema.default));
    if (notes.length) span.append(el("span", { class: "muted" }, " (" + notes.join("; ") + ")"));
    return span;
  }

  function propertiesTable(schema) {
    const resolved = resolve(schema);
    if (!resolved.properties) return null;
    const required = new Set(resolved.required || []);
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Field"), el("th", {}, "Type"), el("th", {}, "Description"))));
    const body = el("tbody");
    for (const [name, property] of Object.entries(resolved.properties)) {
      body.append(el("tr", {},
        el("td", {}, el("code", {}, name), required.has(name) ? el("span", { class: "muted" }, " required") : null),
        el("td", {}, describe(property)),
        el("td", {}, prose(resolve(property).description || "", "span"))));
    }
    table.append(body);
    return table;
  }

  function operation(path, method, op) {
    const id = op.operationId || method + path;
    const section = el("section", { class: "operation", id },
      el("h3", {}, el("span", { class: "method " + method }, method), el("code", {}, path), el("span", {}, op.summary || "")));
    if (op.description) section.append(prose(op.description));
    if (op.security && op.security.some((entry) => Object.keys(entry).length)) {
      section.append(prose("Needs `Authorization: Bearer <token>` when the deployment sets `ANALYTICS_STATS_TOKEN`."));
    }
    if (op.parameters && op.parameters.length) {
      const table = el("table", {}, el("thead", {}, el("tr", {},
        el("th", {}, "Parameter"), el("th", {}, "In"), el("th", {}, "Type"), el("th", {}, "Description"))));
      const body = el("tbody");
      for (const parameter of op.parameters) {
        body.append(el("tr", {},
          el("td", {}, el("code", {}, parameter.name), parameter.required ? el("span", { class: "muted" }, " required") : null),
          el("td", {}, parameter.in),
          el("td", {}, describe(parameter.schema)),
          el("td", {}, prose(parameter.description || resolve(parameter.schema).description || "", "span"))));
      }
      table.append(body);
      section.append(el("h4", {}, "Parameters"), table);
    }
    if (op.requestBody) {
      section.append(el("h4", {}, "Body"));
      for (const [type, media] of Object.entries(op.requestBody.content)) {
        section.append(el("p", {}, el("code", {}, type), ": ", describe(media.schema)));
      }
    }
    const responses = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Answer"), el("th", {}, "Body"))));
    const body = el("tbody");
    for (const [status, response] of Object.entries(op.responses || {})) {
      const media = Object.entries(response.content || {});
      const cell = el("td");
      media.forEach(([type, content], index) => {
        if (index) cell.append(", ");
        cell.append(el("code", {}, type), " ", describe(content.schema));
      });
      const headers = Object.keys(response.headers || {});
      const answer = el("td", {}, prose(response.description || "", "span"));
      if (headers.length) answer.append(el("span", { class: "muted" }, " Headers: " + headers.join(", ")));
      body.append(el("tr", {}, el("td", { class: "status" }, status), answer, cell));
    }
    responses.append(body);
    section.append(el("h4", {}, "Answers"), responses);
    return section;
  }

  document.title = spec.info.title + " · API reference";
  $("title").textContent = spec.info.title + " API";
  $("summary").replaceWith(prose(spec.info.description));

  const toc = el("ul");
  const main = $("operations");
  for (const tag of spec.tags || []) {
    const entries = [];
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if ((op.tags || [])[0] === tag.name) entries.push([path, method, op]);
      }
    }
    if (!entries.length) continue;
    main.append(el("h2", { id: "tag-" + tag.name }, tag.name[0].toUpperCase() + tag.name.slice(1)), prose(tag.description));
    for (const [path, method, op] of entries) {
      main.append(operation(path, method, op));
      toc.append(el("li", {}, el("a", { href: "#" + (op.operationId || method + path) }, method.toUpperCase() + " " + path)));
    }
  }
  $("toc").append(toc);

  const schemas = $("schemas");
  schemas.append(el("h2", { id: "schemas-title" }, "Schemas"));
  for (const [name, schema] of Object.entries(spec.components.schemas)) {
    const section = el("section", { id: "schema-" + name }, el("h3", {}, el("code", {}, name), el("span", {}, describe(Object.assign({}, schema, { description: undefined })))));
    if (schema.description) section.append(prose(schema.description));
    const table = propertiesTable(schema);
    if (table) section.append(table);
    schemas.append(section);
  }
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
})().catch((error) => {
  document.getElementById("summary").textContent = "The description could not be loaded: " + error.message;
});
