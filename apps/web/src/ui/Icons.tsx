/** The few inline SVG icons the kit needs (inline SVG is markup, not script: allowed by the CSP). */
import type { Component } from "solid-js"

const Svg: Component<{ readonly d: string }> = (props) => (
  <svg viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
    <path d={props.d} />
  </svg>
)

export const CloseIcon: Component = () => <Svg d="M4 4l8 8M12 4l-8 8" />
export const SunIcon: Component = () => (
  <Svg d="M8 5.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM8 1.5v1.5M8 13v1.5M1.5 8H3M13 8h1.5M3.4 3.4l1 1M11.6 11.6l1 1M3.4 12.6l1-1M11.6 4.4l1-1" />
)
export const MoonIcon: Component = () => <Svg d="M13.5 9.5A5.5 5.5 0 0 1 6.5 2.5a5.5 5.5 0 1 0 7 7z" />
