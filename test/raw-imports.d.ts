/** A file's text, as Vite's `?raw` import gives it (test/storage-doc.test.ts reads docs/storage.md). */
declare module "*.md?raw" {
  const text: string;
  export default text;
}
