// An offline world map: continents from /static/world.json drawn on a canvas (equirectangular).
let world = null;

export async function loadWorld() {
  if (!world) world = await (await fetch("/static/world.json")).json();
  return world;
}

function project(canvas, lon, lat) {
  return [((lon + 180) / 360) * canvas.width, ((90 - lat) / 180) * canvas.height];
}

export function drawMap(canvas, points) {
  const ctx = canvas.getContext("2d");
  const css = getComputedStyle(document.body);
  ctx.fillStyle = css.getPropertyValue("--sea").trim();
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = css.getPropertyValue("--land").trim();
  ctx.strokeStyle = css.getPropertyValue("--coast").trim();
  for (const feature of world.features) {
    for (const ring of feature.geometry.coordinates) {
      ctx.beginPath();
      ring.forEach(([lon, lat], i) => {
        const [x, y] = project(canvas, lon, lat);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
  }
  // Stream points as dots (client and internal colours), gold insights as rings on top.
  const colour = (source) => css.getPropertyValue(`--${source}`).trim();
  for (const p of points.filter((q) => q.source !== "gold")) {
    const [x, y] = project(canvas, p.lon, p.lat);
    ctx.beginPath();
    ctx.arc(x, y, 3.5, 0, Math.PI * 2);
    ctx.fillStyle = colour(p.source);
    ctx.fill();
  }
  ctx.lineWidth = 2;
  for (const p of points.filter((q) => q.source === "gold")) {
    const [x, y] = project(canvas, p.lon, p.lat);
    ctx.beginPath();
    ctx.arc(x, y, 6, 0, Math.PI * 2);
    ctx.strokeStyle = colour("gold");
    ctx.stroke();
  }
  ctx.lineWidth = 1;
}
