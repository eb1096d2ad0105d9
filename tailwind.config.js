/** Tailwind v3 configuration for the dashboard. Classes are read from the templ views and app.js. */
module.exports = {
  content: ["./web/**/*.templ", "./static/app.js"],
  theme: {
    extend: {
      fontFamily: {
        sans: ["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
      },
    },
  },
  plugins: [],
};
