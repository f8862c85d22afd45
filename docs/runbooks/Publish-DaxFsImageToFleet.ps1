<#
.SYNOPSIS
    Publishes one DAXFS image to a pool of hosts that share memory: write it once on one host, mount it on every host in
    parallel over PowerShell remoting, verify every mount; on any failure, dismount it everywhere it was mounted.

.DESCRIPTION
    For hosts that share one memory region (hosts on a CXL memory pool, kernels sharing memory, VMs on one memory file):
    the image is placed in that memory once, by one host, and every host mounts the same bytes - no copy per host.

    1. Locally: the image is validated (Test-DaxFsImage: no errors), hashed (SHA-256 of the file) and listed (every
       entry with its type, size, link target and each file's SHA-256), which is what each mount must show.
    2. On every host in parallel (Invoke-Command -Session, -ThrottleLimit): the DaxFs module is imported and the host's
       daxfs mounts are read. A host with a daxfs mount of the target memory, or any mount at -MountPoint, stops the
       publish before anything is written (Status Busy): the other hosts' kernels would read the memory while it is
       overwritten, and for a static image nothing in the memory records who mounted it - this runbook is the
       coordinator. A host that cannot be reached stops it too (Status Unreachable).
    3. On the writer (-Writer, default the first session): the image is copied there when the writer does not hold a
       file with the same SHA-256 at -RemoteImagePath, then Write-DaxFsImage writes it into the memory and reads it
       back; the SHA-256 read back must equal the local one. Write-DaxFsImage itself refuses memory whose branching
       image has active branches (mounts of any kernel).
    4. On every host in parallel: Mount-DaxFs (-Device, or -PhysicalAddress and -Size for hosts that see the memory as
       a physical range), then every entry seen through the mount is compared with the local listing.
    5. When any host failed (unreachable, mount refused, a mismatch), the image is dismounted on every host where this
       run mounted it, and those hosts report RolledBack. The memory keeps the image.

    Returns one DaxFs.Runbook.FleetHostResult per session: Host, Role (Writer or Reader), Status (Published, Failed,
    Unreachable, Busy, RolledBack, NotStarted), MountPoint, Target, ImageSha256, FilesVerified, Mismatches, Error,
    Seconds. An error follows the results when the publish did not succeed everywhere.

    The hosts need the DaxFs module (-ModulePath when it is not on their PSModulePath), root and the daxfs kernel
    module. PowerShell remoting over SSH works from Linux: New-PSSession -HostName H -UserName root -KeyFilePath KEY.

.PARAMETER Image
    The image file (on this machine).

.PARAMETER Session
    Sessions to every host that mounts the image (New-PSSession), the writer included.

.PARAMETER Writer
    The session that writes the image into the memory. Default: the first of -Session.

.PARAMETER Device
    The dax device that holds the shared memory on each host (dax0.0).

.PARAMETER PhysicalAddress
    The physical start of the shared memory, for hosts that mount it by physical range (Mount-DaxFs -PhysicalAddress).

.PARAMETER Size
    Bytes of shared memory at -PhysicalAddress.

.PARAMETER MountPoint
    Where each host mounts the image (created when missing).

.PARAMETER RemoteImagePath
    Where the writer reads the image. Default: the same path as -Image (a folder all hosts share, or a copy).

.PARAMETER ModulePath
    What the hosts import: a module name or the path of DaxFs.psd1 there. Default: DaxFs.

.PARAMETER ThrottleLimit
    Hosts worked on at once. Default: 8.

.EXAMPLE
    $s = New-PSSession -HostName node1, node2, node3 -UserName root -KeyFilePath ~/.ssh/pool
    ./Publish-DaxFsImageToFleet.ps1 -Image ./rootfs.daxfs -Session $s -Device dax0.0 -MountPoint /mnt/rootfs -Confirm:$false

    node1 writes rootfs.daxfs into dax0.0 (the pool memory every node maps); all three mount it and check it.

.EXAMPLE
    ./Publish-DaxFsImageToFleet.ps1 -Image ./data.daxfs -Session $s -PhysicalAddress 0x100000000 -Size 256MB -MountPoint /mnt/data -WhatIf

    Validates the image and checks every host, then says what it would write and mount.

.OUTPUTS
    DaxFs.Runbook.FleetHostResult

.LINK
    Get-DaxFsFleetInventory.ps1

.LINK
    about_DaxFs
#>
#Requires -Version 7.4
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Device')]
[OutputType('DaxFs.Runbook.FleetHostResult')]
param(
    [Parameter(Mandatory)]
    [string] $Image,

    [Parameter(Mandatory)]
    [PSTypeName('System.Management.Automation.Runspaces.PSSession')]
    [object[]] $Session,

    [PSTypeName('System.Management.Automation.Runspaces.PSSession')]
    [object] $Writer,

    [Parameter(Mandatory, ParameterSetName = 'Device')]
    [string] $Device,

    [Parameter(Mandatory, ParameterSetName = 'Physical')]
    [uint64] $PhysicalAddress,

    [Parameter(Mandatory, ParameterSetName = 'Physical')]
    [uint64] $Size,

    [Parameter(Mandatory)]
    [string] $MountPoint,

    [string] $RemoteImagePath,

    [string] $ModulePath = 'DaxFs',

    [ValidateRange(1, 1024)]
    [int] $ThrottleLimit = 8
)

Set-StrictMode -Version Latest
$clock = [Diagnostics.Stopwatch]::StartNew()

# What runs on each host. One script block for every step, so that a host runs the same code whichever step it is in;
# it never throws: a failure comes back as Error. The target memory is $P.Device, or $P.PhysicalAddress and $P.Size.
$agent = {
    param([string] $Step, [hashtable] $P)
    Set-StrictMode -Version Latest
    $ErrorActionPreference = 'Stop'
    $r = [ordered]@{ Step = $Step; Ok = $false; Error = $null; Busy = @(); Sha256 = $null; Mounted = $false; FilesVerified = 0; Mismatches = @(); HasFile = $false }
    try {
        Import-Module $P.ModulePath -ErrorAction Stop
        $target = if ($P.Device) { @{ Device = $P.Device } } else { @{ PhysicalAddress = [uint64]$P.PhysicalAddress; Size = [uint64]$P.Size } }
        switch ($Step) {
            'Inspect' {
                $range = if ($P.Device) { $d = Get-DaxDevice -Name $P.Device; @($d.PhysicalAddress, $d.Size) } else { @([uint64]$P.PhysicalAddress, [uint64]$P.Size) }
                $busy = foreach ($m in @(Get-DaxFsMount)) {
                    $over = $null -ne $range[0] -and $m.PhysicalAddress -and $m.PhysicalAddress -lt ($range[0] + $range[1]) -and $range[0] -lt ($m.PhysicalAddress + $m.Size)
                    if ($over -or $m.MountPoint -eq $P.MountPoint) { "$($m.MountPoint) ($($m.Source))" }
                }
                $other = @(Get-Content /proc/self/mountinfo -ErrorAction SilentlyContinue | Where-Object { ($_ -split ' ')[4] -eq $P.MountPoint })
                $r.Busy = @($busy) + @(if ($other -and -not $busy) { "$($P.MountPoint) (another file system)" })
                $r.HasFile = [bool]($P.RemoteImagePath -and (Test-Path -LiteralPath $P.RemoteImagePath -PathType Leaf) -and
                    (Get-FileHash -LiteralPath $P.RemoteImagePath -Algorithm SHA256).Hash -eq $P.Sha256)
            }
            'Write' {
                $w = Write-DaxFsImage -Image $P.RemoteImagePath @target -PassThru -Confirm:$false
                $r.Sha256 = $w.Sha256.ToUpperInvariant()
                if (-not $w.Verified) { throw "Write-DaxFsImage did not verify what it wrote" }
            }
            'Mount' {
                New-Item -ItemType Directory -Force -Path $P.MountPoint | Out-Null
                Mount-DaxFs @target -MountPoint $P.MountPoint -Confirm:$false | Out-Null
                $r.Mounted = $true
                $diff = [Collections.Generic.List[string]]::new()
                $files = 0
                foreach ($e in $P.Expected) {
                    $path = Join-Path $P.MountPoint $e.Path.TrimStart('/')
                    $seen = Get-Item -LiteralPath $path -Force -ErrorAction SilentlyContinue
                    if (-not $seen) { $diff.Add("missing: $($e.Path)"); continue }
                    switch ($e.Type) {
                        'Directory' { if (-not $seen.PSIsContainer -or $seen.LinkType -eq 'SymbolicLink') { $diff.Add("not a directory: $($e.Path)") } }
                        'SymbolicLink' { if ($seen.LinkTarget -cne $e.Target) { $diff.Add("link target differs: $($e.Path) -> '$($seen.LinkTarget)', image '$($e.Target)'") } }
                        'File' {
                            $files++
                            if ($seen.PSIsContainer) { $diff.Add("not a file: $($e.Path)") }
                            elseif ($seen.Length -ne $e.Size) { $diff.Add("size differs: $($e.Path) $($seen.Length) bytes, image $($e.Size)") }
                            elseif ((Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash -ne $e.Sha256) { $diff.Add("content differs: $($e.Path)") }
                        }
                    }
                }
                $count = @(Get-ChildItem -LiteralPath $P.MountPoint -Recurse -Force -ErrorAction SilentlyContinue).Count
                if ($count -ne @($P.Expected).Count) { $diff.Add("the mount shows $count entries, the image has $(@($P.Expected).Count)") }
                $r.FilesVerified = $files
                $r.Mismatches = $diff.ToArray()
            }
            'Dismount' { Dismount-DaxFs -MountPoint $P.MountPoint -Confirm:$false }
        }
        $r.Ok = $true
    }
    catch { $r.Error = "$_" }
    [pscustomobject]$r
}

# Runs STEP on SESSIONS in parallel; returns a table session id -> the agent's answer ($null: no answer, the host is unreachable).
function Invoke-Step([string] $Step, $Sessions, [hashtable] $P) {
    $answers = @{}
    $open = @($Sessions | Where-Object { "$($_.State)" -eq 'Opened' })
    foreach ($s in $Sessions) { $answers[$s.InstanceId] = $null }
    if ($open) {
        $out = Invoke-Command -Session $open -ScriptBlock $agent -ArgumentList $Step, $P -ThrottleLimit $ThrottleLimit -ErrorAction SilentlyContinue -ErrorVariable failed
        foreach ($o in @($out)) {
            if (-not $o) { continue }
            # Answers carry the session's runspace id; PSComputerName is the fallback when only one session goes to that computer.
            $id = if ($o.PSObject.Properties['RunspaceId'] -and $answers.ContainsKey($o.RunspaceId)) { $o.RunspaceId }
                else { $same = @($open | Where-Object ComputerName -eq $o.PSComputerName); if ($same.Count -eq 1) { $same[0].InstanceId } }
            if ($id) { $answers[$id] = $o }
        }
        foreach ($e in @($failed)) {
            $t = if ($e.PSObject.Properties['TargetObject'] -and $e.TargetObject -and $e.TargetObject.PSObject.Properties['InstanceId']) { $e.TargetObject.InstanceId } else { 'any' }
            $script:transport[$t] = "$e"
        }
    }
    $answers
}

function Get-HostName($S) { if ($S.Name -and $S.Name -notmatch '^(Runspace|PSSession|WinRM|SSH)\d+$') { $S.Name } else { $S.ComputerName } }

$Image = (Resolve-Path -LiteralPath $Image -ErrorAction Stop).ProviderPath
$MountPoint = $MountPoint.TrimEnd('/')
if (-not $Writer) { $Writer = $Session[0] }
if ($Session.InstanceId -notcontains $Writer.InstanceId) { $Session = @($Writer) + @($Session) }
if (-not $RemoteImagePath) { $RemoteImagePath = $Image }
$targetText = if ($Device) { $Device } else { 'physical range 0x{0:x}+0x{1:x}' -f $PhysicalAddress, $Size }
$script:transport = @{}

# --- 1. The image, here. ---
$info = Get-DaxFsImage -Image $Image -ErrorAction Stop
$findings = @(Test-DaxFsImage -Image $Image -Detailed -ErrorAction Stop)
$errors = @($findings | Where-Object { "$($_.Severity)" -eq 'Error' })
if ($errors) { throw "$Image is not safe to mount: $(($errors | ForEach-Object { "$($_.RuleId): $($_.Message)" }) -join '; ')" }
$sha = (Get-FileHash -LiteralPath $Image -Algorithm SHA256).Hash
$export = Join-Path ([IO.Path]::GetTempPath()) "daxfs-fleet-$PID"
Remove-Item -LiteralPath $export -Recurse -Force -ErrorAction Ignore -WhatIf:$false -Confirm:$false
try {
    Export-DaxFsItem -Image $Image -Destination $export -WhatIf:$false -Confirm:$false -ErrorAction Stop | Out-Null
    $expected = @(Get-DaxFsItem -Image $Image -Recurse -ErrorAction Stop | ForEach-Object {
            @{
                Path = $_.FullName; Type = "$($_.Type)"; Size = $_.Size; Target = $_.Target
                Sha256 = if ("$($_.Type)" -eq 'File') { (Get-FileHash -LiteralPath (Join-Path $export $_.FullName.TrimStart('/')) -Algorithm SHA256).Hash } else { $null }
            }
        })
}
finally { Remove-Item -LiteralPath $export -Recurse -Force -ErrorAction Ignore -WhatIf:$false -Confirm:$false }
Write-Verbose "$Image`: format $($info.Version), $($info.Mode), $($info.TotalSize) bytes, $($expected.Count) entries, sha256 $sha"

$P = @{
    ModulePath = $ModulePath; Device = $Device; PhysicalAddress = $PhysicalAddress; Size = $Size; MountPoint = $MountPoint
    RemoteImagePath = $RemoteImagePath; Sha256 = $sha; Expected = $expected
}
$results = [ordered]@{}
foreach ($s in $Session) {
    $results[$s.InstanceId] = [ordered]@{
        PSTypeName = 'DaxFs.Runbook.FleetHostResult'
        Host = Get-HostName $s; Role = if ($s.InstanceId -eq $Writer.InstanceId) { 'Writer' } else { 'Reader' }; Status = 'NotStarted'
        MountPoint = $MountPoint; Target = $targetText; ImageSha256 = $sha; FilesVerified = 0; Mismatches = @(); Error = $null; Seconds = 0
    }
}
function Complete-Results {
    foreach ($r in $results.Values) { $r.Seconds = [math]::Round($clock.Elapsed.TotalSeconds, 1); [pscustomobject]$r }
}
function Set-Failure($Id, [string] $Status, [string] $Text) { $results[$Id].Status = $Status; $results[$Id].Error = $Text }
function Get-TransportError($Id) { if ($script:transport.ContainsKey($Id)) { $script:transport[$Id] } elseif ($script:transport.ContainsKey('any')) { $script:transport['any'] } else { 'no answer from the host' } }

# --- 2. Every host: reachable, module loads, nothing mounted over the memory or at the mount point. ---
$inspect = Invoke-Step 'Inspect' $Session $P
$stop = $false
foreach ($s in $Session) {
    $a = $inspect[$s.InstanceId]
    if (-not $a) { Set-Failure $s.InstanceId 'Unreachable' "$(Get-HostName $s) cannot be reached (session $($s.State)): $(Get-TransportError $s.InstanceId)"; $stop = $true }
    elseif (-not $a.Ok) { Set-Failure $s.InstanceId 'Failed' "checking $(Get-HostName $s) failed: $($a.Error)"; $stop = $true }
    elseif (@($a.Busy).Count) { Set-Failure $s.InstanceId 'Busy' "$(Get-HostName $s) has $(@($a.Busy) -join ', ') mounted: dismount it there first (the memory is about to be overwritten)"; $stop = $true }
}
if ($stop) {
    Complete-Results
    Write-Error "Nothing was written: $(@($results.Values | Where-Object Error | ForEach-Object { $_.Error }) -join '; ')"
    return
}

$what = "Write $Image (sha256 $sha) into $targetText on $(Get-HostName $Writer), then mount it at $MountPoint on $($Session.Count) host(s): $(($Session | ForEach-Object { Get-HostName $_ }) -join ', ')"
if (-not $PSCmdlet.ShouldProcess($targetText, $what)) { return }

# --- 3. Write once. ---
if (-not $inspect[$Writer.InstanceId].HasFile) {
    Write-Verbose "copying $Image to $(Get-HostName $Writer):$RemoteImagePath"
    try { Copy-Item -LiteralPath $Image -Destination $RemoteImagePath -ToSession $Writer -Force -ErrorAction Stop }
    catch {
        Set-Failure $Writer.InstanceId 'Failed' "copying the image to $(Get-HostName $Writer) failed: $_"
        Complete-Results; Write-Error "Nothing was written: $($results[$Writer.InstanceId].Error)"; return
    }
}
$w = (Invoke-Step 'Write' @($Writer) $P)[$Writer.InstanceId]
$writeError = if (-not $w) { "no answer from $(Get-HostName $Writer): $(Get-TransportError $Writer.InstanceId)" } elseif (-not $w.Ok) { $w.Error }
    elseif ($w.Sha256 -ne $sha) { "the memory read back on $(Get-HostName $Writer) has sha256 $($w.Sha256), the image $sha" }
if ($writeError) {
    Set-Failure $Writer.InstanceId $(if ($w) { 'Failed' } else { 'Unreachable' }) "writing failed: $writeError"
    Complete-Results; Write-Error "Nothing was mounted: $($results[$Writer.InstanceId].Error)"; return
}
Write-Verbose "$(Get-HostName $Writer) wrote $targetText and read back sha256 $sha"

# --- 4. Mount and verify everywhere, in parallel. ---
$mount = Invoke-Step 'Mount' $Session $P
$mounted = [Collections.Generic.List[object]]::new()
foreach ($s in $Session) {
    $a = $mount[$s.InstanceId]
    $r = $results[$s.InstanceId]
    if (-not $a) { Set-Failure $s.InstanceId 'Unreachable' "no answer from $(Get-HostName $s) while mounting: $(Get-TransportError $s.InstanceId)"; $mounted.Add($s); continue }
    if ($a.Mounted) { $mounted.Add($s) }
    $r.FilesVerified = $a.FilesVerified
    $r.Mismatches = @($a.Mismatches)
    if (-not $a.Ok) { Set-Failure $s.InstanceId 'Failed' "mounting on $(Get-HostName $s) failed: $($a.Error)" }
    elseif (@($a.Mismatches).Count) { Set-Failure $s.InstanceId 'Failed' "$(Get-HostName $s) does not show the image at $MountPoint`: $(@($a.Mismatches) -join '; ')" }
    else { $r.Status = 'Published' }
}

# --- 5. Any failure: dismount wherever this run mounted. ---
$failedHosts = @($results.Values | Where-Object Status -ne 'Published')
if ($failedHosts) {
    $reachable = @($mounted | Where-Object { $results[$_.InstanceId].Status -ne 'Unreachable' -or "$($_.State)" -eq 'Opened' })
    $undo = if ($reachable) { Invoke-Step 'Dismount' $reachable $P } else { @{} }
    foreach ($s in $reachable) {
        $a = $undo[$s.InstanceId]
        $r = $results[$s.InstanceId]
        if ($a -and $a.Ok) { if ($r.Status -eq 'Published') { $r.Status = 'RolledBack' } }
        else {
            $why = if ($a) { $a.Error } else { Get-TransportError $s.InstanceId }
            $r.Error = (@($r.Error, "dismounting $MountPoint on $(Get-HostName $s) failed: $why") | Where-Object { $_ }) -join '; '
            if ($r.Status -eq 'Published') { $r.Status = 'Failed' }
        }
    }
    Complete-Results
    Write-Error "Publishing $Image failed on $(($failedHosts | ForEach-Object { "$($_.Host) ($($_.Status))" }) -join ', '); it was dismounted on every other host: $(@($failedHosts | ForEach-Object { $_.Error }) -join '; ')"
    return
}
Complete-Results
