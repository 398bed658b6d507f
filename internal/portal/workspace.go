package portal

// workspaceRoutes registers the workspace query page.
func (p *Portal) workspaceRoutes() {}
