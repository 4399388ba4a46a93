module github.com/postmortem-tool/postmortem

go 1.26.8
