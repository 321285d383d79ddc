variable "prefix" {
  description = "Naming prefix of every resource: project-environment, such as nexus-dev."
  type        = string
}

variable "tags" {
  description = "Extra tags for the module's resources (provider default_tags apply too)."
  type        = map(string)
  default     = {}
}
