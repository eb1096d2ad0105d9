# Latchkey developer tasks. Generated files (web/**/*_templ.go, static/app.css, static/htmx.min.js)
# are committed, so `make run` and `go build` need no npm.

.PHONY: generate templ css htmx run test

generate: templ css htmx

templ:
	go tool templ generate

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

css: node_modules templ
	npx tailwindcss -c tailwind.config.js -i static/input.css -o static/app.css --minify

htmx: node_modules
	cp node_modules/htmx.org/dist/htmx.min.js static/htmx.min.js

run:
	go run ./cmd/latchkey

test:
	go test ./...
