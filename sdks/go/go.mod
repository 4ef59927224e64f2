module github.com/cybervault/sdk-go

go 1.19
