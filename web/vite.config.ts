// Builds the web app into web/dist (npm run build:web); `vite --config web/vite.config.ts` serves it for development.

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** Where `vite` (development) and `vite preview` send the server's paths: a jitflow running on this machine. */
const server = process.env.JITFLOW_URL ?? "http://localhost:8080";
const proxy = Object.fromEntries(["/api", "/auth", "/healthz"].map((path) => [path, server]));

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    reportCompressedSize: true,
  },
  server: { proxy },
  preview: { proxy },
});
