<#
.SYNOPSIS
    Lists which DAXFS image is mounted where across a pool of hosts, over PowerShell remoting, and which hosts disagree.

.DESCRIPTION
    On every host in parallel (Invoke-Command -Session, -ThrottleLimit) each daxfs mount is read: its memory is copied
    with Save-DaxFsImage (the image's TotalSize bytes, read-only) and described - SHA-256, format version, mode, and for a
    branching image its branches with their states. dma-buf mounts are listed without an image (only their mount reaches
    that memory).

    Returns one DaxFs.Runbook.FleetMount per host and mount point: Host, Status (Mounted, NotMounted, Unreachable,
    Unreadable), MountPoint, Source, PhysicalAddress, Size, ImageName (the file name of the -Image whose SHA-256 matches),
    Sha256, Format, Mode, Branches, Agrees, Note, Error. A mount point that some host has and another does not gives the
    other host a NotMounted row. Agrees is false where a host shows a different image at a mount point than most hosts
    do, or none at all; a branching image's branch table changes while kernels use it, so such images are compared by
    their base region instead (the image without its branch table and delta logs) - that is what "the same image" means
    for them.

    The hosts need the DaxFs module (-ModulePath when it is not on their PSModulePath) and root.

.PARAMETER Session
    Sessions to the hosts (New-PSSession).

.PARAMETER Image
    Image files whose names the inventory shows for the mounts that hold them (matched by SHA-256).

.PARAMETER ModulePath
    What the hosts import: a module name or the path of DaxFs.psd1 there. Default: DaxFs.

.PARAMETER ThrottleLimit
    Hosts read at once. Default: 8.

.EXAMPLE
    $s = New-PSSession -HostName node1, node2, node3 -UserName root -KeyFilePath ~/.ssh/pool
    ./Get-DaxFsFleetInventory.ps1 -Session $s -Image ./rootfs.daxfs | Format-Table Host, Status, MountPoint, ImageName, Agrees

    Which image each node has at each mount point, and which nodes disagree.

.EXAMPLE
    ./Get-DaxFsFleetInventory.ps1 -Session $s | Where-Object { -not $_.Agrees }

    Only the hosts that differ from the rest.

.OUTPUTS
    DaxFs.Runbook.FleetMount

.LINK
    Publish-DaxFsImageToFleet.ps1

.LINK
    about_DaxFs
#>
#Requires -Version 7.4
[CmdletBinding()]
[OutputType('DaxFs.Runbook.FleetMount')]
param(
    [Parameter(Mandatory)]
    [PSTypeName('System.Management.Automation.Runspaces.PSSession')]
    [object[]] $Session,

    [string[]] $Image = @(),

    [string] $ModulePath = 'DaxFs',

    [ValidateRange(1, 1024)]
    [int] $ThrottleLimit = 8
)

Set-StrictMode -Version Latest

# What runs on each host: a Host record (so that a host without mounts still answers), then one Mount record per daxfs
# mount (flat records: remoting serializes nested objects as strings). It never throws: a failure comes back as Error.
$agent = {
    param([string] $ModulePath)
    Set-StrictMode -Version Latest
    $ErrorActionPreference = 'Stop'
    try {
        Import-Module $ModulePath
        $mounts = @(Get-DaxFsMount)
    }
    catch { return [pscustomobject]@{ Kind = 'Host'; Error = "$_" } }
    [pscustomobject]@{ Kind = 'Host'; Error = $null }
    foreach ($m in $mounts) {
        $r = [ordered]@{ Kind = 'Mount'; MountPoint = $m.MountPoint; Source = $m.Source; PhysicalAddress = $m.PhysicalAddress; Size = $m.Size; Sha256 = $null; BaseSha256 = $null
            Format = $null; Mode = $null; Branches = @(); Error = $null }
        $copy = Join-Path ([IO.Path]::GetTempPath()) "daxfs-inventory-$PID-$([guid]::NewGuid().ToString('n')).daxfs"
        try {
            if (-not $m.PhysicalAddress) { throw 'a dma-buf mount: its memory is reachable only through the mount' }
            Save-DaxFsImage -PhysicalAddress $m.PhysicalAddress -Size $m.Size -Destination $copy -Confirm:$false | Out-Null
            $r.Sha256 = (Get-FileHash -LiteralPath $copy -Algorithm SHA256).Hash
            $i = Get-DaxFsImage -Image $copy
            $r.Format = $i.Version; $r.Mode = "$($i.Mode)"
            if ("$($i.Mode)" -ne 'Static') {
                $r.Branches = @(Get-DaxFsBranch -Image $copy | ForEach-Object { "$(if ($_.Name) { $_.Name } else { "#$($_.Id)" }):$($_.State)" })
                # The base image (after the branch table) does not change while kernels use the branches.
                $f = [IO.File]::OpenRead($copy)
                try { $f.Position = [long]$i.BaseOffset; $b = [byte[]]::new([long]$i.BaseSize); $f.ReadExactly($b); $r.BaseSha256 = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($b)) }
                finally { $f.Dispose() }
            }
        }
        catch { $r.Error = "$_" }
        finally { Remove-Item -LiteralPath $copy -Force -ErrorAction Ignore }
        [pscustomobject]$r
    }
}

function Get-HostName($S) { if ($S.Name -and $S.Name -notmatch '^(Runspace|PSSession|WinRM|SSH)\d+$') { $S.Name } else { $S.ComputerName } }

$known = @{}
foreach ($f in $Image) { $p = (Resolve-Path -LiteralPath $f -ErrorAction Stop).ProviderPath; $known[(Get-FileHash -LiteralPath $p -Algorithm SHA256).Hash] = Split-Path -Leaf $p }

$open = @($Session | Where-Object { "$($_.State)" -eq 'Opened' })
$answers = @{}
$transport = @{}
if ($open) {
    $out = Invoke-Command -Session $open -ScriptBlock $agent -ArgumentList $ModulePath -ThrottleLimit $ThrottleLimit -ErrorAction SilentlyContinue -ErrorVariable failed
    foreach ($o in @($out)) {
        if (-not $o) { continue }
        $id = if ($o.PSObject.Properties['RunspaceId'] -and ($Session.InstanceId -contains $o.RunspaceId)) { $o.RunspaceId }
            else { $same = @($open | Where-Object ComputerName -eq $o.PSComputerName); if ($same.Count -eq 1) { $same[0].InstanceId } }
        if (-not $id) { continue }
        if (-not $answers.ContainsKey($id)) { $answers[$id] = [Collections.Generic.List[object]]::new() }
        $answers[$id].Add($o)
    }
    foreach ($e in @($failed)) {
        if ($e.PSObject.Properties['TargetObject'] -and $e.TargetObject -and $e.TargetObject.PSObject.Properties['InstanceId']) { $transport[$e.TargetObject.InstanceId] = "$e" }
    }
}

$rows = [Collections.Generic.List[object]]::new()
function Add-Row([string] $HostName, [string] $Status, $Mount, [string] $Error) {
    $sha = if ($Mount) { $Mount.Sha256 } else { $null }
    $rows.Add([pscustomobject][ordered]@{
            PSTypeName = 'DaxFs.Runbook.FleetMount'
            Host = $HostName; Status = $Status; MountPoint = if ($Mount) { $Mount.MountPoint } else { $null }; Source = if ($Mount) { $Mount.Source } else { $null }
            PhysicalAddress = if ($Mount) { $Mount.PhysicalAddress } else { $null }; Size = if ($Mount) { $Mount.Size } else { $null }
            ImageName = if ($sha -and $known.ContainsKey($sha)) { $known[$sha] } else { $null }; Sha256 = $sha
            BaseSha256 = if ($Mount) { $Mount.BaseSha256 } else { $null }
            Format = if ($Mount) { $Mount.Format } else { $null }; Mode = if ($Mount) { $Mount.Mode } else { $null }
            Branches = if ($Mount) { @($Mount.Branches) } else { @() }; Agrees = $true; Note = $null; Error = $Error
        })
}
$reached = [Collections.Generic.List[string]]::new()
foreach ($s in $Session) {
    $name = Get-HostName $s
    if (-not $answers.ContainsKey($s.InstanceId)) {
        $why = if ($transport.ContainsKey($s.InstanceId)) { $transport[$s.InstanceId] } else { "session $($s.State)" }
        Add-Row $name 'Unreachable' $null "$name cannot be reached: $why"
        continue
    }
    $list = @($answers[$s.InstanceId])
    $head = $list | Where-Object Kind -eq 'Host' | Select-Object -First 1
    if ($head -and $head.Error) { Add-Row $name 'Unreadable' $null $head.Error; continue }
    $reached.Add($name)
    foreach ($m in @($list | Where-Object Kind -eq 'Mount')) { Add-Row $name $(if ($m.Error) { 'Unreadable' } else { 'Mounted' }) $m $m.Error }
}

# Which hosts disagree, per mount point: the image most hosts show there is the reference.
foreach ($group in @($rows | Where-Object MountPoint | Group-Object MountPoint)) {
    $key = { param($r) if ($r.BaseSha256) { "base:$($r.BaseSha256)" } elseif ($r.Sha256) { $r.Sha256 } else { "error:$($r.Host)" } }
    $votes = @($group.Group | Group-Object { & $key $_ } | Sort-Object Count -Descending)
    $majority = $votes[0].Name
    foreach ($r in $group.Group) {
        if ((& $key $r) -ne $majority) { $r.Agrees = $false; $r.Note = "differs from $($votes[0].Count) of $(@($reached).Count) host(s) at $($group.Name)" }
    }
    foreach ($h in $reached) {
        if (-not ($group.Group | Where-Object Host -eq $h)) {
            Add-Row $h 'NotMounted' $null $null
            $rows[-1].MountPoint = $group.Name; $rows[-1].Agrees = $false; $rows[-1].Note = "$($group.Count) other host(s) have $($group.Name) mounted"
        }
    }
}
$rows | Sort-Object Host, MountPoint
