// The builder imports SVG files as their text (for LabIcon).
declare module '*.svg' {
  const svgstr: string;
  export default svgstr;
}
