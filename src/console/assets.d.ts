// The console's page, stylesheet and bundled browser program are imported as text
// (wrangler.toml [[rules]] type "Text"; the vitest pool applies the same rules).
declare module "*.html" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.js.txt" {
  const text: string;
  export default text;
}
