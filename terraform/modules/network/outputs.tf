output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_name" {
  description = "Name tag of the VPC."
  value       = local.vpc_name
}

output "public_subnet_ids" {
  description = "Public subnet IDs, in the order of var.availability_zones."
  value       = [for zone in var.availability_zones : aws_subnet.public[zone].id]
}

output "private_subnet_ids" {
  description = "Private subnet IDs, in the order of var.availability_zones."
  value       = [for zone in var.availability_zones : aws_subnet.private[zone].id]
}

output "nat_gateway_public_ips" {
  description = "Egress IP of each zone's NAT gateway (for allow-lists of external systems)."
  value       = { for zone, eip in aws_eip.nat : zone => eip.public_ip }
}
