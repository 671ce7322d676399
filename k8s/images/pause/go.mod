module breweries.local/pause

go 1.22
