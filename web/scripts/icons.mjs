// Renders the SVG icons to the PNG sizes the manifest and iOS need, with Chromium.
// Run after changing public/icons/*.svg: npm run icons
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';

const icons = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');
const targets = [
  ['icon.svg', 'icon-192.png', 192],
  ['icon.svg', 'icon-512.png', 512],
  ['icon-maskable.svg', 'icon-maskable-512.png', 512],
  ['icon-maskable.svg', 'apple-touch-icon.png', 180],
];

const { browser, close } = await launchBrowser();
try {
  const page = await browser.newPage();
  for (const [source, out, size] of targets) {
    const svg = readFileSync(join(icons, source), 'utf8');
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`,
    );
    const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    writeFileSync(join(icons, out), png);
    console.log(`${out} (${size}×${size})`);
  }
} finally {
  await close();
}
