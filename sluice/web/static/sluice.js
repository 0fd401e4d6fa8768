// sluice's dashboard: draws a page from its description (/api/pages/NAME), a list of
// panels, each naming the API route it shows. It knows the panel kinds (table, chart,
// stats, form, text) and nothing of any pipeline. Text from the warehouse is only ever
// set as text (never as HTML).
"use strict";

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    throw new Error(`the server answered ${response.status} without JSON`);
  }
  if (!response.ok) throw new Error(body && body.error ? body.error : `status ${response.status}`);
  return body;
}

function withParams(url, params) {
  const target = new URL(url, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) target.searchParams.set(name, value);
  }
  return target.pathname + target.search;
}

function fill(template, row) {
  return template.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(row[key] ?? ""));
}

// Numbers that name something (a year, an id, a line) are shown without separators.
const NAMING = /(^|_)(year|id|line|line_number|week_number|run|run_id|file_id)$/;

function formatted(value, format, key = "") {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && format !== "number" && NAMING.test(key)) return String(value);
  if (format === "list" && Array.isArray(value)) return value.join("; ");
  if (format === "percent" && typeof value === "number") return `${(value * 100).toFixed(1)}%`;
  if (typeof value === "number") return numberFormat.format(value).replace(/^-0$/, "0");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// Plotly reads some tags and entities in labels; names from the warehouse are text.
function plotText(value) {
  return typeof value === "string"
    ? value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") : value;
}

function columnsOf(panel, items, answer) {
  if (panel.columns.length) return panel.columns;
  const keys = (answer && answer.columns) || (items.length ? Object.keys(items[0]) : []);
  return keys.map((key) => ({ key, label: key.replace(/_/g, " "), format: "text", link: null }));
}

// Plotly's script is 4.8 MB, a second of the browser's time: it is fetched only on a page
// with a chart, after the page's other panels are drawn and usable.
let plotlyLoading = null;

function plotly() {
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = el("script", { src: "/static/plotly.min.js" });
      script.addEventListener("load", () => resolve(window.Plotly));
      script.addEventListener("error", () => reject(new Error("the chart library did not load")));
      document.head.append(script);
    });
  }
  return plotlyLoading;
}

// --- panels ------------------------------------------------------------------------------

class PanelView {
  constructor(panel, initial) {
    this.panel = panel;
    this.values = {};
    this.offset = 0;
    this.asked = 0; // the latest request: an answer to an earlier one is dropped
    this.body = el("div", { class: "panel-body" });
    this.status = el("p", { class: "panel-status", role: "status" });
    this.node = el("section", { class: `panel panel-${panel.kind}`, "data-kind": panel.kind,
                                "data-title": panel.title, "data-state": "loading" },
                   el("h2", { text: panel.title }));
    if (panel.note) this.node.append(el("p", { class: "note", text: panel.note }));
    for (const control of panel.controls) {
      // A value in the page's address fills the control of that name, if it can hold it.
      let start = initial.get(control.param);
      if (start !== null && control.options.length && !control.options.includes(start)) start = null;
      start = start ?? control.default;
      if (start !== null && start !== undefined) this.values[control.param] = start;
    }
    if (panel.controls.length && panel.kind !== "form") this.node.append(this.controls());
    if (panel.kind === "form") this.node.append(this.form());
    this.node.append(this.body, this.status);
  }

  controls() {
    const bar = el("div", { class: "controls" });
    for (const control of this.panel.controls) bar.append(this.control(control, () => {
      this.offset = 0;
      this.load();
    }));
    return bar;
  }

  control(control, changed) {
    const label = el("label", {}, el("span", { text: control.label }));
    let input;
    if (control.text) {
      input = el("input", { type: "search", name: control.param, value: this.values[control.param] ?? "",
                            placeholder: control.label });
      let timer = null;
      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => { this.values[control.param] = input.value.trim(); changed(); }, 300);
      });
    } else {
      input = el("select", { name: control.param });
      const blank = control.default === null ? [el("option", { value: "", text: "all" })] : [];
      input.append(...blank);
      const add = (options) => {
        for (const option of options) {
          input.append(el("option", { value: option, text: option,
                                      selected: this.values[control.param] === option }));
        }
      };
      add(control.options);
      if (control.options_from) {
        getJSON(control.options_from).then((answer) => add(answer.options))
          .catch((error) => this.fail(error));
      }
      input.addEventListener("change", () => { this.values[control.param] = input.value; changed(); });
    }
    label.append(input);
    return label;
  }

  form() {
    const form = el("form", { class: "controls" });
    for (const control of this.panel.controls) form.append(this.control(control, () => {}));
    form.append(el("button", { type: "submit", text: "ask" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      for (const control of this.panel.controls) {
        const input = form.elements.namedItem(control.param);
        if (input) this.values[control.param] = input.value;
      }
      this.load();
    });
    return form;
  }

  params() {
    const params = { ...this.values };
    if (this.panel.kind === "table") Object.assign(params, { limit: this.panel.page_size, offset: this.offset });
    return params;
  }

  async load() {
    this.node.dataset.state = "loading";
    if (this.panel.kind === "form" && this.panel.controls.some((c) => !this.values[c.param])) {
      this.node.dataset.state = "ready";
      this.status.textContent = "choose every value, then ask";
      return;
    }
    const asked = ++this.asked;
    try {
      const answer = await getJSON(withParams(this.panel.source, this.params()));
      if (asked !== this.asked) return;
      if (this.panel.kind === "chart") await plotly();
      if (asked !== this.asked) return;
      this.clear();
      this.status.textContent = "";
      this.draw(answer);
      this.node.dataset.state = "ready";
    } catch (error) {
      if (asked === this.asked) this.fail(error);
    }
  }

  clear() {
    if (window.Plotly) {
      for (const chart of this.body.querySelectorAll(".chart")) Plotly.purge(chart);
    }
    this.body.replaceChildren();
  }

  fail(error) {
    this.node.dataset.state = "error";
    this.body.replaceChildren(el("p", { class: "error", text: error.message }));
  }

  draw(answer) {
    const kind = this.panel.kind;
    if (kind === "table") this.table(answer);
    else if (kind === "chart") this.chart(answer);
    else if (kind === "text") this.body.append(el("p", { class: "answer", text: answer.text ?? "" }));
    else this.body.append(facts(answer));
  }

  table(answer) {
    const items = answer.items || [];
    const columns = columnsOf(this.panel, items, answer);
    const numeric = (c) => c.format === "number" || c.format === "percent"
      || (items.length > 0 && typeof items[0][c.key] === "number");
    const head = el("tr", {}, ...columns.map((c) => el("th", { text: c.label, scope: "col",
                                                               class: numeric(c) ? "number" : null })));
    const rows = items.map((row) => {
      const cells = columns.map((c) => {
        const text = formatted(row[c.key], c.format, c.key);
        const cell = el("td", { class: typeof row[c.key] === "number" ? "number" : null });
        if (c.link && row[c.key] !== null && row[c.key] !== undefined) {
          cell.append(el("a", { href: fill(c.link, row), text }));
        } else {
          cell.textContent = text.length > 160 ? `${text.slice(0, 159)}…` : text;
          if (text.length > 160) cell.title = text;
        }
        return cell;
      });
      const tr = el("tr", {}, ...cells);
      if (this.panel.detail) {
        tr.classList.add("clickable");
        tr.tabIndex = 0;
        const open = () => this.detail(fill(this.panel.detail, row));
        tr.addEventListener("click", open);
        tr.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
      }
      return tr;
    });
    const table = el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
    this.body.append(el("div", { class: "scroll" }, table));
    if (!items.length) this.body.append(el("p", { class: "empty", text: "no rows" }));
    const total = answer.total ?? items.length;
    const first = items.length ? this.offset + 1 : 0;
    const pager = el("div", { class: "pager" },
      el("button", { type: "button", "data-action": "prev", text: "‹ previous",
                     disabled: this.offset === 0,
                     onclick: () => { this.offset = Math.max(0, this.offset - this.panel.page_size); this.load(); } }),
      el("span", { class: "page-status", text: items.length
        ? `rows ${numberFormat.format(first)}–${numberFormat.format(this.offset + items.length)} of ${numberFormat.format(total)}`
        : `none of ${numberFormat.format(total)}` }),
      el("button", { type: "button", "data-action": "next", text: "next ›",
                     disabled: this.offset + items.length >= total,
                     onclick: () => { this.offset += this.panel.page_size; this.load(); } }));
    this.body.append(pager);
    if (this.panel.downloads.length) {
      const filters = { ...this.values };
      this.body.append(el("p", { class: "downloads" }, "download: ",
        ...this.panel.downloads.map((d) => el("a", { href: withParams(d.href, filters), text: d.label, download: true }))));
    }
    this.detailBox = el("div", { class: "detail" });
    this.body.append(this.detailBox);
  }

  async detail(url) {
    try {
      const answer = await getJSON(url);
      this.detailBox.replaceChildren(el("h3", { text: answer.id ? `record ${answer.id}` : "detail" }), facts(answer));
      this.detailBox.scrollIntoView({ block: "nearest" });
    } catch (error) {
      this.detailBox.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  chart(answer) {
    const items = answer.items || [];
    const x = items.map((row) => plotText(row[this.panel.x]));
    const traces = this.panel.series.map((s) => {
      const trace = { x, y: items.map((row) => row[s.column]), name: plotText(s.name),
                      type: s.kind === "line" ? "scatter" : "bar" };
      if (s.kind === "line") trace.mode = "lines";
      if (s.highlight) trace.marker = { color: items.map((row) => (row[s.highlight] ? "#d1495b" : "#3a6ea5")) };
      return trace;
    });
    const shapes = [];
    const annotations = [];
    if (this.panel.band && answer[this.panel.band[0]] !== null && answer[this.panel.band[0]] !== undefined) {
      shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, y0: answer[this.panel.band[0]],
                    y1: answer[this.panel.band[1]], fillcolor: "#3a6ea5", opacity: 0.1, line: { width: 0 } });
    }
    for (const line of this.panel.lines) {
      const value = answer[line.key];
      if (value === null || value === undefined) continue;
      shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: value, y1: value,
                    line: { dash: "dash", width: 1, color: "#555" } });
      annotations.push({ xref: "paper", x: 1, y: value, text: plotText(`${line.label} ${numberFormat.format(value)}`),
                         showarrow: false, xanchor: "right", yanchor: "bottom", font: { size: 11 } });
    }
    const box = el("div", { class: "chart" });
    this.body.append(box);
    if (!items.length) {
      this.body.append(el("p", { class: "empty", text: "nothing to draw yet" }));
      return;
    }
    window.Plotly.react(box, traces, {
      margin: { l: 60, r: 20, t: 10, b: 60 }, height: 340, shapes, annotations, bargap: 0.1,
      legend: { orientation: "h" }, xaxis: { automargin: true, type: "category" },
      yaxis: { automargin: true },
    }, { displayModeBar: false, responsive: true }).then(() => { box.dataset.rendered = "true"; });
  }
}

function facts(answer) {
  const list = el("dl", { class: "facts" });
  for (const [key, value] of Object.entries(answer)) {
    const shown = value !== null && typeof value === "object" && !Array.isArray(value)
      ? facts(value) : el("span", { text: formatted(value, Array.isArray(value) ? "list" : "text", key) });
    list.append(el("dt", { text: key.replace(/_/g, " ") }), el("dd", {}, shown));
  }
  return list;
}

// --- the page ----------------------------------------------------------------------------

async function overviewLine(url) {
  const line = el("p", { class: "headline" });
  try {
    const answer = await getJSON(url);
    const last = answer.last_run
      ? `last run ${answer.last_run} (${answer.last_verb}, ${answer.last_status}, ${answer.last_finished ?? "not finished"}); `
      : "no runs yet; ";
    line.append(el("span", { class: "counts", text: `${last}${numberFormat.format(answer.loaded)} loaded, ${numberFormat.format(answer.quarantined)} in quarantine` }));
    if (answer.headline) line.append(el("strong", { class: "answer", text: answer.headline }));
  } catch (error) {
    line.append(el("span", { class: "error", text: error.message }));
  }
  return line;
}

async function start() {
  const name = document.body.dataset.page;
  const main = document.getElementById("main");
  let page;
  try {
    page = await getJSON(`/api/pages/${encodeURIComponent(name)}`);
  } catch (error) {
    main.replaceChildren(el("p", { class: "error", text: error.message }));
    return;
  }
  document.getElementById("nav").replaceChildren(...page.nav.map((item) =>
    el("a", { href: item.href, text: item.name, "aria-current": item.name === name ? "page" : null })));
  const initial = new URLSearchParams(window.location.search);
  const views = page.panels.map((panel) => new PanelView(panel, initial));
  main.replaceChildren(el("h1", { text: page.title }), el("p", { class: "help", text: page.help }));
  if (page.overview) main.append(await overviewLine(page.overview));
  main.append(...views.map((view) => view.node));
  const charts = views.filter((view) => view.panel.kind === "chart");
  for (const view of charts) view.body.replaceChildren(el("p", { class: "empty", text: "drawing…" }));
  const others = Promise.all(views.filter((view) => view.panel.kind !== "chart").map((view) => view.load()));
  await others;
  document.body.dataset.usable = "true"; // every table, form and figure drawn
  await Promise.all(charts.map((view) => view.load()));
  document.body.dataset.ready = "true"; // and every chart
  if (page.refresh_seconds) {
    setInterval(() => views.forEach((view) => { if (view.panel.kind !== "form") view.load(); }),
                page.refresh_seconds * 1000);
  }
}

document.addEventListener("DOMContentLoaded", start);
