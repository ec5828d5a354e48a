// The drill-down table of an agenteval report: rows built from the embedded JSON with textContent
// only (answers are untrusted text), plus the search box and the failed / tag / metric filters.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("report-data").textContent);
  const tbody = document.querySelector("#sample-table tbody");
  const search = document.getElementById("search");
  const failedOnly = document.getElementById("failed-only");
  const tagFilter = document.getElementById("tag-filter");
  const metricFilter = document.getElementById("metric-filter");
  const shownCount = document.getElementById("shown-count");

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(x) {
    return x === null || x === undefined ? "—" : x.toFixed(3);
  }

  function stepText(step) {
    const args = Object.entries(step.args).map(([k, v]) => k + "=" + JSON.stringify(v));
    let text = step.tool + "(" + args.join(", ") + ")";
    if (step.optional) text += " [optional]";
    if (step.repeat) text += " [repeat]";
    if (step.error) text += " — error: " + step.error;
    return text;
  }

  function expectedText(expected) {
    if (expected === null || expected === undefined) return "—";
    if (typeof expected === "string") return expected;
    if (Array.isArray(expected) && expected.every((e) => typeof e === "string")) {
      return expected.length > 1 ? "one of:\n" + expected.join("\n") : expected.join("");
    }
    return JSON.stringify(expected, null, 1);
  }

  function sampleCell(s) {
    const td = el("td", "id");
    td.appendChild(el("div", "sid", s.id + (data.show_repeat ? " #" + s.repeat : "")));
    if (s.error) td.appendChild(el("span", "badge fail", "error"));
    if (s.cached) td.appendChild(el("span", "badge", "cached"));
    if (s.latency_s !== null) td.appendChild(el("div", "muted", s.latency_s.toFixed(2) + " s"));
    for (const c of s.changes) td.appendChild(el("div", "change", c));
    return td;
  }

  function tagsCell(s) {
    const td = el("td", "tags");
    for (const t of s.tags) td.appendChild(el("span", "tag", t));
    return td;
  }

  function textCell(text, cls) {
    const td = el("td");
    td.appendChild(el("div", "text " + (cls || ""), text));
    return td;
  }

  function answerCell(s) {
    const td = textCell(s.output === null ? "" : s.output, "answer");
    if (s.error) td.appendChild(el("div", "text error", s.error));
    return td;
  }

  function trajectoryCell(s) {
    const td = el("td", "trajectory");
    const got = s.trajectory;
    const want = s.expected_trajectory;
    if ((!got || got.length === 0) && !want) {
      td.textContent = got ? "—" : "(not recorded)";
      return td;
    }
    const table = el("table", "steps");
    const head = el("tr");
    head.appendChild(el("th", "", "called"));
    head.appendChild(el("th", "", want ? "expected" : "expected (not in suite file)"));
    table.appendChild(head);
    const n = Math.max(got ? got.length : 0, want ? want.length : 0);
    for (let i = 0; i < n; i++) {
      const a = got && got[i];
      const b = want && want[i];
      const tr = el("tr", a && b && a.tool === b.tool ? "" : "mismatch");
      tr.appendChild(el("td", "step", a ? stepText(a) : ""));
      tr.appendChild(el("td", "step", b ? stepText(b) : ""));
      table.appendChild(tr);
    }
    if (!got) table.appendChild(el("caption", "muted", "tool calls not recorded"));
    td.appendChild(table);
    return td;
  }

  function scoresCell(s) {
    const td = el("td", "scores");
    const nodes = {};
    for (const sc of s.scores) {
      const state = sc.value === null ? "unmeasured" : sc.passed === true ? "pass" : sc.passed === false ? "fail" : "";
      const box = el("div", "score " + state);
      const mark = state === "pass" ? " ✓" : state === "fail" ? " ✗" : state === "unmeasured" ? " unmeasured" : "";
      box.appendChild(el("span", "sname", sc.metric + ": " + fmt(sc.value) + mark));
      if (sc.reason) {
        const reason = el("div", sc.judge ? "reason judge" : "reason");
        if (sc.judge) reason.appendChild(el("b", "", "judge reasoning: "));
        reason.appendChild(document.createTextNode(sc.reason));
        box.appendChild(reason);
      }
      if (sc.error && sc.error !== sc.reason) box.appendChild(el("div", "reason error", sc.error));
      td.appendChild(box);
      nodes[sc.metric] = box;
    }
    return [td, nodes];
  }

  const rows = data.samples.map((s) => {
    const tr = el("tr", s.failed ? "sample failed" : "sample");
    tr.dataset.id = s.id;
    const [scoreTd, scoreNodes] = scoresCell(s);
    [sampleCell(s), tagsCell(s), textCell(s.input), answerCell(s), textCell(expectedText(s.expected)),
      trajectoryCell(s), scoreTd].forEach((td) => tr.appendChild(td));
    tbody.appendChild(tr);
    const haystack = [s.id, s.input, s.output || "", s.error || "", expectedText(s.expected)]
      .concat(s.tags, s.changes).join("\n").toLowerCase();
    return { sample: s, tr: tr, scoreNodes: scoreNodes, haystack: haystack };
  });

  for (const t of data.tags) tagFilter.appendChild(el("option", "", t)).value = t;
  for (const m of data.metrics) metricFilter.appendChild(el("option", "", m)).value = m;

  function failedOn(row, metric) {
    if (!metric) return row.sample.failed;
    const sc = row.sample.scores.find((x) => x.metric === metric);
    return Boolean(row.sample.error) || (sc !== undefined && sc.passed === false);
  }

  function apply() {
    const query = search.value.trim().toLowerCase();
    const tag = tagFilter.value;
    const metric = metricFilter.value;
    let shown = 0;
    for (const row of rows) {
      const visible = (!query || row.haystack.includes(query))
        && (!tag || row.sample.tags.includes(tag))
        && (!metric || metric in row.scoreNodes)
        && (!failedOnly.checked || failedOn(row, metric));
      row.tr.hidden = !visible;
      for (const [name, node] of Object.entries(row.scoreNodes)) node.hidden = Boolean(metric) && name !== metric;
      if (visible) shown++;
    }
    shownCount.textContent = shown + " of " + rows.length + " shown";
  }

  search.addEventListener("input", apply);
  for (const control of [failedOnly, tagFilter, metricFilter]) control.addEventListener("change", apply);
  apply();
})();
