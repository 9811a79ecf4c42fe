// The dashboard's charts (ECharts), drawn from the JSON the page embeds with json_script.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var charts = [];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    charts.push(chart);
  }

  draw("chart-trend", {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: [data.trend.labels.intake, data.trend.labels.closed] },
    grid: { left: 40, right: 16, top: 32, bottom: 28 },
    xAxis: { type: "category", data: data.trend.days.map(function (d) { return d.slice(5); }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.trend.labels.intake, type: "line", smooth: true, data: data.trend.intake },
      { name: data.trend.labels.closed, type: "line", smooth: true, data: data.trend.closed }
    ]
  });
  draw("chart-mix", {
    animation: false,
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "70%"], data: data.mix, label: { formatter: "{b}\n{c}" } }]
  });
  draw("chart-tiers", {
    animation: false,
    tooltip: { trigger: "axis" },
    grid: { left: 70, right: 16, top: 16, bottom: 24 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.tiers.map(function (t) { return t.name; }) },
    series: [{ type: "bar", data: data.tiers.map(function (t) { return t.value; }), itemStyle: { color: "#b3261e" } }]
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  var printButton = document.querySelector("[data-print]");
  if (printButton) printButton.addEventListener("click", function () { window.print(); });
})();
