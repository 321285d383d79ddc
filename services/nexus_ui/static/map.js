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
  for (const p of points) {
    const [x, y] = project(canvas, p.lon, p.lat);
    ctx.beginPath();
    ctx.arc(x, y, 4, 0, Math.PI * 2);
    ctx.fillStyle = p.tier === "gold" ? "#f2cc60" : "#d18616";
    ctx.fill();
  }
}
